// socket.io-client against the Rust server of tests/socketio/namespaces.rs
// (server-initiated disconnect).
//
//   node sio_disconnect.mjs <url>
//
// Joins "/" and "/chat" on one connection; the "/" socket emits "kick-me",
// and the server disconnects it. The client must see `disconnect` with
// "io server disconnect" and not reconnect; "/chat", on the same connection,
// must keep working (a "ping" round trip).

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log, next } from "./sio_common.mjs";

const [url] = args("sio_disconnect.mjs <url>");
const timer = deadline();
const opts = { transports: ["websocket"], reconnectionDelay: 10, reconnectionDelayMax: 10 };

const main = io(url, opts);
const chat = io(`${url}/chat`, opts);
for (const s of [main, chat]) s.on("connect_error", (err) => fail(`connect_error ${err.message}`));

try {
  if (!main.connected) await next(main, "connect");
  if (!chat.connected) await next(chat, "connect");
  const mainId = main.id;
  const disconnected = next(main, "disconnect");
  main.emit("kick-me");
  const [reason] = await disconnected;
  log({ event: "disconnect", reason, active: main.active, connected: main.connected, id: mainId });
  const pong = await new Promise((resolve) => chat.emit("ping", (...res) => resolve(res)));
  log({ event: "chat-ping", ack: pong, connected: chat.connected, mainConnected: main.connected });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
