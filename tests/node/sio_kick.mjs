// socket.io-client against the Rust server of tests/socketio/closing.rs.
//
//   node sio_kick.mjs <url> <polling|websocket>
//
// Once connected, emits "kick-me", and the server closes the connection
// after a DISCONNECT (Node's `socket.disconnect(true)`). The client must see
// exactly one `disconnect`, "io server disconnect", and not reconnect.
// Prints each disconnect as it happens, then, once the client's engine has
// closed and the packets it had already received are handled (two turns of
// the event loop: the client hands decoded packets on in a later turn), the
// count.

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log, next, transportOptions } from "./sio_common.mjs";

const [url, mode] = args("sio_kick.mjs <url> <polling|websocket>");
const timer = deadline();
const socket = io(url, { ...transportOptions(mode), reconnectionDelay: 20, reconnectionDelayMax: 20 });
socket.on("connect_error", (err) => fail(`connect_error ${err.message}`));
let disconnects = 0;
socket.on("disconnect", (reason) => {
  disconnects += 1;
  log({ event: "disconnect", reason, active: socket.active });
});
socket.io.on("reconnect_attempt", (n) => log({ event: "reconnect_attempt", n }));

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

try {
  await next(socket, "connect");
  const engineClosed = next(socket.io.engine, "close");
  socket.emit("kick-me");
  const [engineReason] = await engineClosed;
  await turn();
  await turn();
  log({ event: "settled", disconnects, engineReason, active: socket.active });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
