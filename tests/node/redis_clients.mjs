// socket.io-client clients for the tests of crates/socketio-redis.
//
//   node redis_clients.mjs
//
// Commands, one JSON line each on stdin:
//   {"cmd":"connect","name":"a1","url":"http://127.0.0.1:3000","rooms":["r"]}
//   {"cmd":"close","name":"a1"}
//   {"cmd":"emit","name":"a1","ev":"relay","args":[...]}   (a1 emits to its server)
// Events, one JSON line each on stdout:
//   {"event":"connected","name":"a1","sid":"..."}
//   {"event":"message","name":"a1","ev":"news","args":[...]}   (every event)
//   {"event":"disconnected","name":"a1","reason":"io server disconnect"}
// A client acknowledges each event that asks for it with
// {"name":"a1","ev":"<event>"}, except events named noack*. Binary values
// print as {"$bin":[bytes]}; an object that merely looks like a Buffer in
// JSON ({"type":"Buffer","data":[...]}) prints as it is.

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// Binary values as {"$bin":[bytes]}, before JSON.stringify: it would turn a
// Buffer into {"type":"Buffer","data":[...]}, the very shape of the JSON a
// server might send instead of binary.
function printable(value) {
  if (value instanceof ArrayBuffer) return { $bin: [...new Uint8Array(value)] };
  if (ArrayBuffer.isView(value)) {
    return { $bin: [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)] };
  }
  if (Array.isArray(value)) return value.map(printable);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printable(v)]));
  }
  return value;
}

const clients = new Map();

createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.cmd === "connect") {
    const socket = io(cmd.url, {
      transports: ["websocket"],
      reconnection: false,
      auth: { name: cmd.name, rooms: cmd.rooms || [] },
      // Escaped in the URL; servers must hand it back decoded.
      query: { who: `${cmd.name} é/&` },
    });
    clients.set(cmd.name, socket);
    socket.on("connect", () => log({ event: "connected", name: cmd.name, sid: socket.id }));
    socket.on("connect_error", (e) =>
      log({ event: "connect_error", name: cmd.name, message: e.message }),
    );
    socket.on("disconnect", (reason) => log({ event: "disconnected", name: cmd.name, reason }));
    socket.onAny((ev, ...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      log({ event: "message", name: cmd.name, ev, args: printable(args) });
      if (ack && !ev.startsWith("noack")) ack({ name: cmd.name, ev });
    });
  } else if (cmd.cmd === "emit") {
    clients.get(cmd.name)?.emit(cmd.ev, ...(cmd.args || []));
  } else if (cmd.cmd === "close") {
    clients.get(cmd.name)?.close();
  }
});
process.stdin.on("end", () => {
  for (const s of clients.values()) s.close();
  process.exit(0);
});
