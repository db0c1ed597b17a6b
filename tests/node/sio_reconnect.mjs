// socket.io-client against the Rust server of tests/socketio/reconnect.rs.
//
//   node sio_reconnect.mjs <url> <polling|websocket> [event]
//
// Once connected, emits `event` (default "drop-me"), and the server closes
// the connection.
// The client must see `disconnect` with "transport close", and, while
// disconnected, emits "while-down" 1 and 2 with acks; the client buffers
// them and must send them once it has reconnected on its own. Prints the
// disconnect, the reconnection and the two acks.

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log, next, transportOptions } from "./sio_common.mjs";

const [url, mode, dropEvent = "drop-me"] = args("sio_reconnect.mjs <url> <polling|websocket> [event]");
const timer = deadline();
const socket = io(url, {
  ...transportOptions(mode),
  reconnectionDelay: 20,
  reconnectionDelayMax: 20,
  randomizationFactor: 0,
});
socket.on("connect_error", (err) => log({ event: "connect_error", message: err.message }));
socket.io.on("reconnect_attempt", (n) => log({ event: "reconnect_attempt", n }));
socket.io.on("reconnect", (n) => log({ event: "reconnect", n }));

try {
  await next(socket, "connect");
  const first = { id: socket.id, engineId: socket.io.engine.id };
  log({ event: "connect", ...first });

  const disconnected = next(socket, "disconnect");
  socket.emit(dropEvent);
  const [reason] = await disconnected;
  log({ event: "disconnect", reason, active: socket.active });

  const acks = [1, 2].map((n) => new Promise((resolve) => socket.emit("while-down", n, (...res) => resolve(res))));
  log({ event: "emitted-while-down", connected: socket.connected });

  await next(socket, "connect");
  log({ event: "reconnected", id: socket.id, engineId: socket.io.engine.id });
  log({ event: "acks", acks: await Promise.all(acks) });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
