// socket.io-client against the Rust server of tests/socketio/interop.rs.
//
//   node sio_interop.mjs <url> <polling|websocket|upgrade>
//
// One round: a JSON event with an ack ("order"), a binary event with an ack
// that answers bytes and an event with bytes back ("blob" / "blob-back"),
// an event ("ask") during which the server asks the client "question" (the
// client acknowledges) and "silent" (the client never does), and an
// "order" with bad data whose ack must be the server's error. With
// `upgrade`, a second round runs once the transport is WebSocket.

import { io } from "socket.io-client";
import { args, bytesOf, deadline, fail, finish, log, next, transportOptions } from "./sio_common.mjs";

const [url, mode] = args("sio_interop.mjs <url> <polling|websocket|upgrade>");
const timer = deadline();
const socket = io(url, { ...transportOptions(mode), reconnection: false });
const transport = () => socket.io.engine.transport.name;
socket.io.on("open", () => log({ event: "engine-open", transport: transport() }));

socket.on("question", (q, ack) => {
  log({ event: "question", q, transport: transport() });
  ack({ answer: q.n * 2 });
});
socket.on("silent", (...argv) => {
  // The last argument is the ack callback; it is never called.
  log({ event: "silent", acked: typeof argv.at(-1) === "function", transport: transport() });
});
socket.on("connect_error", (err) => fail(`connect_error: ${err.message}`));
socket.on("disconnect", (reason) => {
  if (!done) fail(`disconnected: ${reason}`);
});

let done = false;

// Emits with an ack callback; resolves with the ack's arguments, as an array.
const call = (ev, ...a) => new Promise((resolve) => socket.emit(ev, ...a, (...res) => resolve(res)));

async function round(n) {
  const order = await call("order", { item: "tea ✓", qty: 3, tags: ["hot", "green"] }, n);
  log({ event: "order-ack", round: n, ack: order, transport: transport() });

  const bytes = [n, 0, 1, 127, 128, 255];
  const back = next(socket, "blob-back");
  const blobAck = await call("blob", Buffer.from(bytes), "label");
  const [blob, tag] = await back;
  log({
    event: "blob",
    round: n,
    ack: [bytesOf(blobAck[0]), ...blobAck.slice(1)],
    back: [bytesOf(blob), tag],
    transport: transport(),
  });

  const asked = await call("ask", n);
  log({ event: "ask-ack", round: n, ack: asked, transport: transport() });

  const refused = await call("order", "not an order", n);
  log({ event: "bad-order-ack", round: n, ack: refused, transport: transport() });
}

socket.on("connect", async () => {
  log({ event: "connect", id: socket.id, transport: transport() });
  try {
    await round(1);
    if (mode === "upgrade") {
      if (transport() !== "websocket") await next(socket.io.engine, "upgrade");
      log({ event: "upgraded", transport: transport() });
      await round(2);
    }
    done = true;
    log({ event: "done", transport: transport() });
    finish(timer);
  } catch (e) {
    fail(e?.stack ?? e);
  }
});
