// The official socket.io-client over WebSocket with per-message compression
// (engine.io-client offers permessage-deflate through `ws` by default), for
// tests/socketio/deflate.rs.
//
//   node sio_deflate.mjs <url>
//
// Prints the extensions `ws` agreed, then each echo's result: a large text,
// large binary, and a small text (under the threshold) sent with an ack and
// compared with what came back; then what the server pushed with
// `compress(false)`.

import { io } from "socket.io-client";
import { deadline, fail, finish, log, next } from "./sio_common.mjs";

const [url] = process.argv.slice(2);
const timer = deadline();
const socket = io(url, { transports: ["websocket"], reconnection: false });
await next(socket, "connect");
log({ event: "connected", extensions: socket.io.engine.transport.ws.extensions });

const echo = (...args) => new Promise((resolve) => socket.emit("echo", ...args, (...r) => resolve(r)));

const text = JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `user ${i}`, online: i % 3 === 0 })));
const [back] = await echo(text);
log({ event: "text", length: text.length, same: back === text });

const bytes = Buffer.alloc(50_000, 0);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
const [backBytes] = await echo(bytes);
log({ event: "binary", length: bytes.length, same: Buffer.compare(Buffer.from(backBytes), bytes) === 0 });

const [small] = await echo("hi");
log({ event: "small", same: small === "hi" });

socket.emit("push");
const [pushed] = await next(socket, "pushed");
log({ event: "pushed", length: pushed.length });
if (pushed.length !== 100_000) fail("pushed message damaged");
finish(timer);
