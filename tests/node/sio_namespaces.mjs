// socket.io-client against the Rust server of tests/socketio/namespaces.rs.
//
//   node sio_namespaces.mjs <url>
//
// Sockets: "/chat" and "/tenant-7" multiplexed on one connection, "/tenant-42"
// twice on two connections (`forceNew`), and "/nope", which the server does
// not serve. Each joined socket asks "whoami" (the server acks its namespace
// and socket id). Then the first "/tenant-42" socket emits "shout", which the
// server broadcasts to the other sockets of its namespace; after its ack,
// every socket does a "ping" round trip, which the server answers after
// anything it sent before, so that the "shouted" counts are final.

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log, next } from "./sio_common.mjs";

const [url] = args("sio_namespaces.mjs <url>");
const timer = deadline();
const opts = { transports: ["websocket"], reconnection: false };

const sockets = {
  chat: io(`${url}/chat`, opts),
  t7: io(`${url}/tenant-7`, opts),
  t42a: io(`${url}/tenant-42`, { ...opts, forceNew: true }),
  t42b: io(`${url}/tenant-42`, { ...opts, forceNew: true }),
};
const shouted = {};
for (const [name, socket] of Object.entries(sockets)) {
  shouted[name] = 0;
  socket.on("shouted", (from) => {
    log({ event: "shouted", to: name, from });
    shouted[name] += 1;
  });
  socket.on("connect_error", (err) => fail(`${name}: connect_error ${err.message}`));
}

const call = (socket, ev, ...a) => new Promise((resolve) => socket.emit(ev, ...a, (...res) => resolve(res)));

try {
  const nope = io(`${url}/nope`, { ...opts, forceNew: true });
  const [err] = await next(nope, "connect_error");
  log({ event: "nope", message: err.message, data: err.data ?? null, active: nope.active });

  for (const [name, socket] of Object.entries(sockets)) {
    if (!socket.connected) await next(socket, "connect");
    const [ns, id] = await call(socket, "whoami");
    log({ event: "whoami", name, ns, id, clientId: socket.id, engineId: socket.io.engine.id });
  }
  log({ event: "shout-ack", ack: await call(sockets.t42a, "shout", "hello") });
  for (const socket of Object.values(sockets)) await call(socket, "ping");
  log({ event: "shouted-counts", counts: shouted });
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
