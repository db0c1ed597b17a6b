// socket.io-client against a server with connection state recovery: ours
// (tests/socketio/recovery.rs) or Node's (csr_server.mjs), with the same
// handlers, so that the two are shown to agree.
//
//   node sio_csr.mjs <url> <polling|websocket> <recover|expire|kick|ping> [msgpack]
//
// The client asks the server to `setup` (join rooms "a" and "b", set its
// data, emit "m" 0), then to `cut` it off: the server closes the transport
// (`recover`, `expire`) or disconnects the socket (`kick`), and emits "m"
// 1..7 meanwhile, directly, to its rooms, to others, volatile, then "bulk"
// 0..999, directly and to room "a" in turn. The client
// reconnects (at once; after the 1 s window for `expire`; by hand after
// `kick`). With `ping` the client stops answering pings instead, and the
// server emits the same when the socket leaves with "ping timeout". then asks for `after` ("m" 100) and the server's `state`.
// Prints every "m" with its first argument and whether it had an offset,
// the reconnection with how many "bulk" came (and whether each came once,
// in order), and both sides' view of the recovery.

import { io } from "socket.io-client";
import msgpack from "socket.io-msgpack-parser";
import { args, deadline, fail, finish, log, next, transportOptions } from "./sio_common.mjs";

const [url, mode, scenario, parser] = args("sio_csr.mjs <url> <polling|websocket> <recover|expire|kick|ping> [msgpack]");
const timer = deadline();
const delay = scenario === "expire" ? 1_500 : 20;
const socket = io(url, {
  ...transportOptions(mode),
  reconnectionDelay: delay,
  reconnectionDelayMax: delay,
  randomizationFactor: 0,
  ...(parser === "msgpack" ? { parser: msgpack } : {}),
});
socket.on("connect_error", (err) => log({ event: "connect_error", message: err.message }));
socket.on("m", (...args) => {
  const last = args[args.length - 1];
  log({ event: "m", n: args[0], args: args.length, offset: typeof last === "string" });
});

let bulk = 0;
let bulkInOrder = true;
socket.on("bulk", (n, offset) => {
  if (n !== bulk || typeof offset !== "string") bulkInOrder = false;
  bulk += 1;
});

try {
  await next(socket, "connect");
  const first = socket.id;
  log({ event: "connect", recovered: socket.recovered });
  await socket.emitWithAck("setup");

  const disconnected = next(socket, "disconnect");
  if (scenario === "ping") {
    // This connection's engine answers no more pings; the next one will.
    const engine = socket.io.engine;
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
  } else {
    socket.emit("cut", scenario === "kick" ? "kick" : "close");
  }
  const [reason] = await disconnected;
  log({ event: "disconnect", reason });
  if (scenario === "kick") socket.connect();

  await next(socket, "connect");
  log({ event: "reconnected", recovered: socket.recovered, sameId: socket.id === first, bulk, bulkInOrder });
  await socket.emitWithAck("after");
  const state = await socket.emitWithAck("state");
  log({ event: "state", ...state, sameId: state.id === first });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
