// Node's socket.io 4.8 with allowEIO3, serving the handlers that sio_v2.mjs
// expects (tests/socketio/eio3.rs runs the same script against our server).
// With the argument `off`, allowEIO3 is left off (its default); with `fast`,
// the server pings every 200 ms with a 200 ms timeout.
// Listens on 127.0.0.1, a free port, which it prints as {"port": N}; ends
// when stdin closes.

import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer();
const allowEIO3 = process.argv[2] !== "off";
const ping = process.argv[2] === "fast" ? 200 : 60_000;
const io = new Server(httpServer, { allowEIO3, pingInterval: ping, pingTimeout: ping });

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("ask", async () => {
    const reply = await socket.emitWithAck("question", { n: 1, bin: Buffer.from([1, 2]) });
    socket.emit("answer", reply);
  });
  socket.on("bye", () => socket.disconnect());
});

const admin = io.of("/admin");
admin.use((socket, next) => {
  const token = socket.handshake.auth?.token;
  if (token === "ok") return next();
  const err = new Error("refused");
  if (token !== "nodata") err.data = { code: 42 };
  next(err);
});
admin.on("connection", (socket) => {
  socket.on("whoami", (ack) => ack({ nsp: socket.nsp.name, auth: socket.handshake.auth }));
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
