// Node's socket.io 4.8 with socket.io-msgpack-parser 3.0.2, serving the
// handlers that sio_msgpack.mjs expects (tests/socketio/msgpack.rs runs the
// same script against our server). Listens on 127.0.0.1, a free port, which
// it prints as {"port": N}; ends when stdin closes.

import { createServer } from "node:http";
import { Server } from "socket.io";
import parser from "socket.io-msgpack-parser";

const httpServer = createServer();
const io = new Server(httpServer, { parser });

io.on("connection", (socket) => {
  if (socket.handshake.auth?.room) socket.join(socket.handshake.auth.room);
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("ask", async () => {
    const reply = await socket.emitWithAck("question", { n: 1, bin: Buffer.from([1, 2]) });
    socket.emit("answer", reply);
  });
  socket.on("to-room", (data) => io.to("r1").emit("room-msg", data));
});

const admin = io.of("/admin");
admin.use((socket, next) => {
  if (socket.handshake.auth?.token === "ok") return next();
  const err = new Error("refused");
  err.data = { code: 42 };
  next(err);
});
admin.on("connection", () => {});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
