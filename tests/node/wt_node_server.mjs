// The reference Node.js server for the WebTransport browser test
// (tests/examples/webtransport.rs): socket.io 4.8 with the handlers of
// examples/webtransport_conformance, serving an empty page at `/` and the
// client bundle (Node's serveClient); heartbeats every second, as the
// Rust side's.
//
//   node wt_node_server.mjs <httpPort> <streamPort>
//
// Node's HTTP/3 server cannot be installed here, so the QUIC side is the
// test's: a WebTransport endpoint on the UDP port of <httpPort>'s number
// forwards each session's stream over TCP to <streamPort>
// (wt_sessions.mjs). Polling handshakes offer `webtransport` (the
// `transports` option), as Node does when it serves it.
//
// Port 0 takes one from the OS. Prints {"http":N,"stream":M} once
// listening. Exits when stdin closes.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { serveWebTransportOverTcp } from "./wt_sessions.mjs";

const [httpPort, streamPort] = process.argv.slice(2).map(Number);
if (Number.isNaN(httpPort) || Number.isNaN(streamPort)) {
  console.error("usage: node wt_node_server.mjs <httpPort> <streamPort>");
  process.exit(2);
}

const http = createServer((req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>webtransport (node)</title>");
  } else {
    res.writeHead(404).end();
  }
});
// Heartbeats of the in-process server of the Rust side (1 s, 1 s).
const io = new Server(http, {
  transports: ["polling", "websocket", "webtransport"],
  pingInterval: 1000,
  pingTimeout: 1000,
});

io.on("connection", (socket) => {
  socket.emit("welcome");
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("whoami", (ack) => ack(socket.conn.transport.name));
  socket.on("broadcast", (data, ack) => {
    io.emit("bcast", data);
    ack();
  });
});

await new Promise((resolve) => http.listen(httpPort, "127.0.0.1", resolve));
const stream = await serveWebTransportOverTcp(io, streamPort);
console.log(JSON.stringify({ http: http.address().port, stream }));

process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
