// Two socket.io-client sockets against the Rust relay of
// tests/socketio/relay.rs: what one sends, Buffers inside, reaches the other.
//
//   node sio_relay.mjs <url>
//
// Sockets A and B connect (each on its own connection). A emits "relay"
// with one object holding two Buffers at different depths, then
// "relay-spread" with several arguments, some binary, and an ack. B prints
// what each event brought; A prints its ack. Binary values are printed as
// {"binary":[bytes]} in their place, anything else as it is, so that the
// Rust side sees both the bytes and where they were.

import { io } from "socket.io-client";
import { args, bytesOf, deadline, fail, finish, log, next } from "./sio_common.mjs";

const [url] = args("sio_relay.mjs <url>");
const timer = deadline();

const isBinary = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const describe = (v) => {
  if (isBinary(v)) return { binary: bytesOf(v) };
  if (Array.isArray(v)) return v.map(describe);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]));
  }
  return v;
};

const open = (name) => {
  const socket = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  socket.on("connect_error", (err) => fail(`${name}: connect_error ${err.message}`));
  return socket;
};
const a = open("A");
const b = open("B");

try {
  await Promise.all([next(a, "connect"), next(b, "connect")]);
  const relayed = next(b, "relayed");
  const relayedSpread = next(b, "relayed-spread");

  a.emit("relay", {
    name: "pic",
    img: Buffer.from([0, 1, 2, 255]),
    list: [1, { thumb: Buffer.from("thumb") }],
  });
  log({ event: "relayed", args: describe(await relayed) });

  const ack = new Promise((resolve) => {
    a.emit("relay-spread", "x", Buffer.from([9]), { k: [Buffer.from([]), true] }, 7, (...res) =>
      resolve(res),
    );
  });
  log({ event: "relayed-spread", args: describe(await relayedSpread) });
  log({ event: "ack", args: describe(await ack) });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
