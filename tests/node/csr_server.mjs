// Node's socket.io 4.8 with connectionStateRecovery (a 1 s window), serving
// the handlers that sio_csr.mjs expects (tests/socketio/recovery.rs runs
// the same script against our server). Listens on 127.0.0.1, a free port,
// which it prints as {"port": N}; ends when stdin closes.
//
//   node csr_server.mjs [<pingInterval ms> <pingTimeout ms>]  (default 60 s each)

import { createServer } from "node:http";
import { Server } from "socket.io";

const [pingInterval = 60_000, pingTimeout = 60_000] = process.argv.slice(2).map(Number);
const httpServer = createServer();
const io = new Server(httpServer, {
  pingInterval,
  pingTimeout,
  connectionStateRecovery: { maxDisconnectionDuration: 1_000 },
});

io.on("connection", (socket) => {
  socket.on("setup", (ack) => {
    socket.join(["a", "b"]);
    socket.data = { n: 42 };
    socket.emit("m", 0);
    ack();
  });
  socket.on("cut", (how) => {
    if (how === "kick") socket.disconnect();
    else socket.conn.close();
    emitWhileAway(socket);
  });
  socket.on("disconnect", (reason) => {
    if (reason === "ping timeout") emitWhileAway(socket);
  });
  socket.on("after", (ack) => {
    socket.emit("m", 100);
    ack();
  });
  socket.on("state", (ack) => {
    const rooms = [...socket.rooms].filter((r) => r !== socket.id).sort();
    // A new socket's data is {} in Node, null in ours: both "none".
    const data = Object.keys(socket.data ?? {}).length ? socket.data : null;
    ack({ recovered: socket.recovered, id: socket.id, rooms, data });
  });
});

function emitWhileAway(socket) {
  socket.emit("m", 1);
  io.to("a").emit("m", 2);
  io.to("c").emit("m", 3);
  io.emit("m", 4, { x: [1] });
  io.to("b").except("a").emit("m", 5);
  io.volatile.emit("m", 6);
  io.to(["a", "b"]).emit("m", 7);
  for (let i = 0; i < 1000; i++) {
    if (i % 2 === 0) socket.emit("bulk", i);
    else io.to("a").emit("bulk", i);
  }
}

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
