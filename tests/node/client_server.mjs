// The official socket.io server (tests/package.json pins 4.8.4), as the
// peer of the Rust client's tests (tests/client/).
//
//   node client_server.mjs <port> [options-json]
//
// <port> 0 picks a free port. Options: {"pingInterval": ms, "pingTimeout": ms,
// "recovery": bool, "refuse": message}; with "refuse", `allowRequest` denies
// every request with that message (HTTP 403 with Node's error JSON on
// polling, 400 with the message as body on a WebSocket); with "webtransport":
// streamPort (0 for any), WebTransport sessions forwarded over TCP to that
// port by the test's HTTP/3 endpoint are served too (wt_sessions.mjs), and
// polling handshakes offer the upgrade. Prints
// {"event":"ready","port":N[,"stream":M]} on stdout once listening; the Rust
// side reads it, and kills the process to stop it.
//
// Namespaces and events (the Rust server of tests/client/servers.rs does the same):
//   "/"      middleware: auth.token === "bad" is refused with err.data;
//            on connection emits "welcome" {auth, query, header, engine, ns};
//            "echo" (...args)       emits "echo" with the same arguments;
//            "ack" (...args, ack)   acknowledges with the same arguments;
//            "binary" (name, buf, ack) acks [length, reversed buf] and emits
//                                   "binary-back" (name, buf);
//            "ask" (q, ack)         emits "question" (q) to the client with
//                                   an ack, and acks with the client's answer;
//            "never" (..., ack)     never acknowledges;
//            "slow" (x, ack)        acknowledges x after 300 ms;
//            "record" (x, ack?)     appends x to the log (and acks x if asked);
//            "log" (ack)            acks the log;
//            "kick"                 disconnects the socket (io server disconnect);
//            "drop" (ack)           closes the connection (transport close),
//                                   then broadcasts "missed" 50 ms later;
//            "transport" (ack)      acks the transport's name.
//   "/chat"  emits "welcome" like "/"; "echo" emits "echo" ("chat", ...args).
//   "/admin" refuses every client, with err.data.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { serveWebTransportOverTcp } from "./wt_sessions.mjs";

const port = Number(process.argv[2] ?? 0);
const options = JSON.parse(process.argv[3] ?? "{}");

const httpServer = createServer();
const io = new Server(httpServer, {
  transports:
    options.webtransport === undefined
      ? ["polling", "websocket"]
      : ["polling", "websocket", "webtransport"],
  pingInterval: options.pingInterval ?? 300,
  pingTimeout: options.pingTimeout ?? 200,
  maxHttpBufferSize: 1e6,
  connectionStateRecovery: options.recovery
    ? { maxDisconnectionDuration: 10_000, skipMiddlewares: true }
    : undefined,
  allowRequest:
    options.refuse === undefined
      ? undefined
      : (req, callback) => callback(options.refuse, false),
});

const log = [];

function welcome(socket) {
  socket.emit("welcome", {
    auth: socket.handshake.auth,
    query: socket.handshake.query.x ?? null,
    header: socket.handshake.headers["x-test"] ?? null,
    engine: socket.conn.id,
    ns: socket.nsp.name,
    recovered: socket.recovered,
  });
}

io.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "bad") {
    const err = new Error("not authorized");
    err.data = { code: 4001, reason: "bad token" };
    return next(err);
  }
  next();
});

io.on("connection", (socket) => {
  if (!socket.recovered) welcome(socket);
  socket.on("echo", (...args) => {
    if (typeof args.at(-1) === "function") args.pop();
    socket.emit("echo", ...args);
  });
  socket.on("ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("binary", (name, buf, ack) => {
    ack(buf.length, Buffer.from(buf).reverse());
    socket.emit("binary-back", name, buf);
  });
  socket.on("ask", async (q, ack) => {
    try {
      const answer = await socket.timeout(2000).emitWithAck("question", q);
      ack(answer);
    } catch (e) {
      ack({ error: String(e) });
    }
  });
  socket.on("never", () => {});
  socket.on("slow", (x, ack) => setTimeout(() => ack(x), 300));
  socket.on("record", (x, ack) => {
    log.push(x);
    if (typeof ack === "function") ack(x);
  });
  socket.on("log", (ack) => ack(log));
  socket.on("kick", () => socket.disconnect());
  socket.on("drop", (ack) => {
    ack("dropping");
    setTimeout(() => {
      socket.conn.close();
      setTimeout(() => io.emit("missed", "while you were away"), 50);
    }, 20);
  });
  socket.on("transport", (ack) => ack(socket.conn.transport.name));
});

io.of("/chat").on("connection", (socket) => {
  welcome(socket);
  socket.on("echo", (...args) => socket.emit("echo", "chat", ...args));
});

io.of("/admin").use((socket, next) => {
  const err = new Error("admins only");
  err.data = { code: 403, reason: "not an admin" };
  next(err);
});

httpServer.on("error", (e) => {
  console.error(String(e));
  process.exit(1);
});
await new Promise((resolve) => httpServer.listen(port, "127.0.0.1", resolve));
const stream =
  options.webtransport === undefined ? undefined : await serveWebTransportOverTcp(io, options.webtransport);
console.log(JSON.stringify({ event: "ready", port: httpServer.address().port, stream }));
