// Many socket.io-client sockets against the Rust server of
// tests/socketio/broadcast.rs.
//
//   node sio_broadcast.mjs <url> <count>
//
// Opens <count> sockets, each on its own connection (`forceNew`), every
// fourth one over long-polling and the others over WebSocket, each with
// auth {i}. Once all are connected, socket 0 emits "go", after which the
// server broadcasts several events and finally "end" to everyone. Each
// socket counts the events it receives until its "end" (its connection
// delivers in order, so nothing sent before "end" can come after it). Then
// the script prints {"event":"counts","counts":[{event: count, ...}, ...]},
// indexed by i.

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log } from "./sio_common.mjs";

const [url, countArg] = args("sio_broadcast.mjs <url> <count>");
const count = Number(countArg);
const timer = deadline();

const counts = Array.from({ length: count }, () => ({}));
const ids = new Array(count);
let connected = 0;
let ended = 0;

const sockets = Array.from({ length: count }, (_, i) => {
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    transports: i % 4 === 0 ? ["polling"] : ["websocket"],
    auth: { i },
  });
  socket.onAny((event, payload) => {
    if (event === "end") {
      ended += 1;
      if (ended === count) {
        log({ event: "counts", counts, ids });
        finish(timer);
      }
      return;
    }
    if (payload !== event) fail(`socket ${i}: ${event} carried ${JSON.stringify(payload)}`);
    counts[i][event] = (counts[i][event] ?? 0) + 1;
  });
  socket.on("connect", () => {
    ids[i] = socket.id;
    connected += 1;
    if (connected === count) sockets[0].emit("go");
  });
  socket.on("connect_error", (err) => fail(`socket ${i}: connect_error ${err.message}`));
  socket.on("disconnect", (reason) => fail(`socket ${i}: disconnected (${reason})`));
  return socket;
});
