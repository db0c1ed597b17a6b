// socket.io-client against the Rust server of tests/socketio/shapes.rs:
// how Rust values map to JavaScript arguments, both ways.
//
//   node sio_shapes.mjs <url>
//
// Asks the server to emit one event per shape ("give"), and prints the
// arguments each arrived with; then calls "nums" with one array and
// "relay" with several arguments, and prints the acks' arguments.

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log, next } from "./sio_common.mjs";

const [url] = args("sio_shapes.mjs <url>");
const timer = deadline();
const socket = io(url, { transports: ["websocket"], reconnection: false });
socket.on("connect_error", (err) => fail(`connect_error: ${err.message}`));

const NAMES = ["vec", "tuple", "none", "value", "spread", "done"];
const seen = new Map();
const all = new Promise((resolve) => {
  for (const name of NAMES) {
    socket.on(name, (...argv) => {
      seen.set(name, argv);
      if (name === "done") resolve();
    });
  }
});
const call = (ev, ...a) => new Promise((resolve) => socket.emit(ev, ...a, (...res) => resolve(res)));

try {
  await next(socket, "connect");
  socket.emit("give");
  await all;
  for (const name of NAMES.slice(0, -1)) log({ event: name, args: seen.get(name) });
  log({ event: "nums", ack: await call("nums", [1, 2, 3]) });
  log({ event: "relay", ack: await call("relay", [1, "a"], { x: 1 }) });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
