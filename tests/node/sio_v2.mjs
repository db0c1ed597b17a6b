// socket.io-client 2.5.0 (Engine.IO v3, Socket.IO protocol v4; the npm alias
// socket.io-client-v2) against a server that serves it: ours with
// allow_eio3, or Node's socket.io 4.8 with allowEIO3 (v2_server.mjs), in
// tests/socketio/eio3.rs. Both serve the same handlers:
//   "/"      "echo" acks its arguments back; "ask" asks the client
//            "question" with an ack and emits "answer" with the reply;
//            "bye" disconnects the socket.
//   "/admin" a middleware accepts the auth token "ok" (from the namespace's
//            query, as protocol v4 sends it), refuses "nodata" with the
//            error "refused", and anything else with "refused" and data
//            {code: 42}; "whoami" acks {nsp, auth}.
//
//   node sio_v2.mjs <url> <polling|polling-b64|websocket|upgrade|refused>
//
// `refused`: a server without allowEIO3; prints the connect_error.
//   node sio_v2.mjs <url> heartbeat:<polling|websocket>
// against a server that pings every 200 ms with a 200 ms timeout: waits
// for the client's fourth pong (its pings answered), still connected.
//
// Prints what it saw, one JSON line per step; binary values as {"$bin":[..]}.

import io from "socket.io-client-v2";
import { args, deadline, fail, finish, next } from "./sio_common.mjs";

const [url, mode] = args("sio_v2.mjs <url> <polling|polling-b64|websocket|upgrade|refused>");
const timer = deadline();
if (mode === "refused") {
  const s = io(url, { transports: ["polling"], reconnection: false });
  const [err] = await next(s, "connect_error");
  console.log(JSON.stringify({ step: "connect_error", message: err.message, status: err.description }));
  finish(timer);
}
if (mode.startsWith("heartbeat:")) {
  const s = io(url, { transports: [mode.slice("heartbeat:".length)], reconnection: false });
  s.on("disconnect", (reason) => fail(`disconnected: ${reason}`));
  await next(s, "connect");
  for (let i = 0; i < 4; i++) await next(s.io, "pong");
  console.log(JSON.stringify({ step: "heartbeat", transport: s.io.engine.transport.name, connected: s.connected }));
  finish(timer);
}
const replacer = (_key, v) => {
  if (v && v.type === "Buffer" && Array.isArray(v.data)) return { $bin: v.data };
  if (v instanceof ArrayBuffer) return { $bin: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { $bin: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  return v;
};
const log = (obj) => console.log(JSON.stringify(obj, replacer));
const transport = {
  polling: { transports: ["polling"] },
  "polling-b64": { transports: ["polling"], forceBase64: true },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
}[mode];
if (!transport) fail(`unknown mode ${mode}`);
const options = (extra) => ({ ...transport, reconnection: false, ...extra });

// The first connection: later ones to its namespaces share it.
const c1 = io(url, options({}));
c1.on("error", (e) => fail(`error on /: ${JSON.stringify(e)}`));
c1.on("connect_error", (e) => fail(`connect_error: ${e.message}`));
await next(c1, "connect");
if (mode === "upgrade" && c1.io.engine.transport.name !== "websocket") {
  await next(c1.io.engine, "upgrade");
}
log({ step: "connected", transport: c1.io.engine.transport.name });

// An ack with binary at every depth and non-ASCII text, both ways.
const deep = { deep: { bin: Buffer.from([1, 2, 3]), list: [Buffer.from([4])] } };
const echoed = await new Promise((resolve) =>
  c1.emit("echo", 1, deep, "é😀", (...res) => resolve(res)),
);
log({ step: "echo", args: echoed });

// The server asks, the client answers with an ack.
c1.on("question", (q, ack) => ack({ got: q }));
const answer = next(c1, "answer");
c1.emit("ask");
log({ step: "answer", args: await answer });

// A namespace on the same connection, its query as the auth payload.
const admin = io(`${url}/admin?token=ok`, options({}));
admin.on("error", (e) => fail(`error on /admin: ${JSON.stringify(e)}`));
await next(admin, "connect");
const who = await new Promise((resolve) => admin.emit("whoami", (r) => resolve(r)));
log({ step: "whoami", same_connection: admin.io === c1.io, ...who });

// Refusals by the middleware, with data and without, and an unknown namespace.
for (const [path, step] of [
  ["/admin?token=bad", "refused"],
  ["/admin?token=nodata", "refused-no-data"],
  ["/nope", "invalid-namespace"],
]) {
  const s = io(`${url}${path}`, options({ forceNew: true }));
  const [err] = await next(s, "error");
  log({ step, error: err });
  s.close();
}

// The server disconnects the socket.
const gone = next(c1, "disconnect");
c1.emit("bye");
log({ step: "disconnected", reason: (await gone)[0] });
finish(timer);
