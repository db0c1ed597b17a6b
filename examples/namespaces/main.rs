//! Namespaces: separate channels over one connection, each with its own
//! handlers, sockets and rooms.
//!
//! - `/`: the main namespace; `who` lists the namespaces that exist.
//! - `/admin`: a fixed namespace; `kick(ns)` disconnects every socket of
//!   another namespace.
//! - `/team-<name>`: *dynamic*: any path that matches becomes a namespace
//!   of its own on first connection (Node's `io.of(/^\/team-\w+$/)`); a
//!   `say(text)` reaches the sockets of that team only.
//!
//! ```text
//! cargo run --example namespaces
//! ```
//!
//! and, with Node's `socket.io-client` (`npm ci --prefix tests` once):
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   const red = io("http://localhost:3000/team-red");
//!   const red2 = io("http://localhost:3000/team-red", { forceNew: true });
//!   const blue = io("http://localhost:3000/team-blue");
//!   for (const [name, s] of [["red", red], ["red2", red2], ["blue", blue]])
//!     s.on("said", (text, ns) => console.log(name, "heard", text, "in", ns));
//!   red2.on("connect", () => red.emit("say", "hello team"));
//!   const main = io("http://localhost:3000");
//!   console.log(await main.emitWithAck("who"));'
//! ```

use socketio_axum::{
    extract::{AckSender, Data},
    SocketIo, SocketRef,
};

/// A team name: letters, digits, `_`.
fn is_team(path: &str) -> bool {
    path.strip_prefix("/team-").is_some_and(|name| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = SocketIo::new_layer();

    io.ns("/", |socket: SocketRef| async move {
        // `SocketIo` is an extractor too: the server handle.
        socket.on("who", |io: SocketIo, ack: AckSender| async move {
            let mut namespaces: Vec<String> =
                io.namespaces().iter().map(ToString::to_string).collect();
            namespaces.sort();
            let _ = ack.send(&(namespaces,));
        });
    });

    io.ns("/admin", |socket: SocketRef| async move {
        socket.on(
            "kick",
            |io: SocketIo, Data(ns): Data<String>, ack: AckSender| async move {
                // `of` reaches another namespace's sockets, if it exists.
                let kicked = match io.of(&ns) {
                    Some(ns) => {
                        let n = ns.sockets().len();
                        // Without an adapter there is no other server to fail to reach.
                        let _ = ns.disconnect();
                        n
                    }
                    None => 0,
                };
                let _ = ack.send(&kicked);
            },
        );
    });

    // Each matching path gets a namespace of its own: a `say` broadcast in
    // `/team-red` never reaches `/team-blue`.
    io.dyn_ns(is_team, |socket: SocketRef| async move {
        println!("{} joined {}", socket.id(), socket.ns());
        socket.on(
            "say",
            |socket: SocketRef, Data(text): Data<String>| async move {
                let _ = socket
                    .broadcast()
                    .emit("said", &(text, socket.ns().as_str()));
            },
        );
    });

    let app = axum::Router::new().layer(layer);
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    println!("namespaces on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
