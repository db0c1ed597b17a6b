// socket.io-client 4.8 with socket.io-msgpack-parser 3.0.2, against a server
// with the msgpack parser: ours or Node's (tests/socketio/msgpack.rs; the
// Node one is msgpack_server.mjs). Both serve the same handlers:
//   "/"      joins auth.room; "echo" acks its arguments back; "ask" asks the
//            client "question" with an ack and emits "answer" with the reply;
//            "to-room" emits "room-msg" to room r1.
//   "/admin" a middleware refuses auth.token other than "ok" with the error
//            "refused" and data {code: 42}.
//
//   node sio_msgpack.mjs <url> <polling|websocket>
//
// Prints what it saw, one JSON line per step; binary values as {"$bin":[..]}.

import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";
import { args, deadline, fail, finish, next, transportOptions } from "./sio_common.mjs";

const [url, mode] = args("sio_msgpack.mjs <url> <polling|websocket>");
const timer = deadline();
const replacer = (_key, v) => {
  if (v && v.type === "Buffer" && Array.isArray(v.data)) return { $bin: v.data };
  if (v instanceof ArrayBuffer) return { $bin: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { $bin: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  return v;
};
const log = (obj) => console.log(JSON.stringify(obj, replacer));
const options = (extra) => ({ ...transportOptions(mode), reconnection: false, parser, ...extra });

const c1 = io(url, options({ auth: { room: "r1" } }));
const c2 = io(url, options({ forceNew: true }));
for (const s of [c1, c2]) s.on("connect_error", (e) => fail(`connect_error: ${e.message}`));
await Promise.all([next(c1, "connect"), next(c2, "connect")]);
log({ step: "connected", transport: c1.io.engine.transport.name });

// An ack with binary at every depth, and a Date, both ways.
const deep = { deep: { bin: Buffer.from([1, 2, 3]), list: [Buffer.from([4])] } };
const echoed = await new Promise((resolve) =>
  c1.emit("echo", 1, deep, "x", new Date(1700000000123), (...res) => resolve(res)),
);
log({ step: "echo", args: echoed });

// The server asks, the client answers with an ack.
c1.on("question", (q, ack) => ack({ got: q }));
const answer = next(c1, "answer");
c1.emit("ask");
log({ step: "answer", args: await answer });

// A broadcast to a room.
const roomMsg = next(c1, "room-msg");
c2.emit("to-room", { hello: Buffer.from([9]) });
log({ step: "room-msg", args: await roomMsg });

// A namespace, refused then accepted by its middleware.
const refused = io(`${url}/admin`, options({ forceNew: true, auth: { token: "bad" } }));
const [err] = await next(refused, "connect_error");
log({ step: "refused", message: err.message, data: err.data });
const admin = io(`${url}/admin`, options({ forceNew: true, auth: { token: "ok" } }));
await next(admin, "connect");
log({ step: "admin", connected: admin.connected });
finish(timer);
