// socket.io-client clients that reconnect, each behind a TCP proxy the test
// controls, for the connection state recovery tests of the Redis Streams
// adapter (tests/redis/streams.rs): a client is cut off from one server of
// the cluster and comes back, through the same proxy, on another one.
//
//   node streams_clients.mjs
//
// Commands, one JSON line each on stdin:
//   {"cmd":"proxy","name":"p1","url":"http://127.0.0.1:3000"}
//       a proxy on a free port of 127.0.0.1 that forwards each connection
//       to url's port; answers {"event":"proxy","name":"p1","port":N}
//   {"cmd":"cut","name":"p1"}
//       the proxy closes every connection it forwards (both sides: the
//       server sees its transport close) and holds new ones: they wait,
//       unforwarded, until `resume`; answers {"event":"cut","name":"p1"}
//   {"cmd":"resume","name":"p1","url":"http://127.0.0.1:4000"}
//       forwards the held connections, and the next ones, to url's port;
//       answers {"event":"resumed","name":"p1"}
//   {"cmd":"connect","name":"c1","url":"http://127.0.0.1:N","rooms":["r"]}
//       a client (WebSocket only, reconnecting after 50 ms) with auth
//       {name, rooms}, or only {rooms} with "anonymous":true
// Events, one JSON line each on stdout:
//   {"event":"connected","name":"c1","sid":"...","pid":"...","recovered":false}
//   {"event":"message","name":"c1","ev":"news","args":[...]}   (every event)
//   {"event":"disconnected","name":"c1","reason":"transport close"}
//   {"event":"connect_error","name":"c1","message":"..."}
// A client prints its events in the order it handles them: the events a
// recovered session replays come before its "connected".

import { createServer, connect as tcpConnect } from "node:net";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const portOf = (url) => Number(new URL(url).port);

const proxies = new Map();

// A TCP proxy: `pairs` are the connections it forwards, `held` those that
// arrived while it was cut off.
function startProxy(name, url) {
  const proxy = { port: portOf(url), pairs: new Set(), held: new Set(), cut: false };
  const server = createServer((down) => {
    down.on("error", () => down.destroy());
    if (proxy.cut) {
      // Not read until forwarded: what the client sends waits in the socket.
      proxy.held.add(down);
      down.on("close", () => proxy.held.delete(down));
    } else {
      forward(proxy, down);
    }
  });
  server.listen(0, "127.0.0.1", () => {
    proxies.set(name, proxy);
    log({ event: "proxy", name, port: server.address().port });
  });
}

function forward(proxy, down) {
  const up = tcpConnect(proxy.port, "127.0.0.1");
  const pair = { down, up };
  proxy.pairs.add(pair);
  const close = () => {
    proxy.pairs.delete(pair);
    down.destroy();
    up.destroy();
  };
  for (const s of [down, up]) {
    s.on("error", close);
    s.on("close", close);
  }
  down.pipe(up);
  up.pipe(down);
}

function cut(name) {
  const proxy = proxies.get(name);
  proxy.cut = true;
  for (const { down, up } of proxy.pairs) {
    down.destroy();
    up.destroy();
  }
  proxy.pairs.clear();
  log({ event: "cut", name });
}

function resume(name, url) {
  const proxy = proxies.get(name);
  proxy.port = portOf(url);
  proxy.cut = false;
  const held = [...proxy.held];
  proxy.held.clear();
  for (const down of held) {
    down.removeAllListeners("close");
    forward(proxy, down);
  }
  log({ event: "resumed", name });
}

const clients = new Map();

function connectClient(name, url, rooms, anonymous) {
  const socket = io(url, {
    transports: ["websocket"],
    reconnectionDelay: 50,
    reconnectionDelayMax: 50,
    randomizationFactor: 0,
    auth: anonymous ? { rooms: rooms || [] } : { name, rooms: rooms || [] },
  });
  clients.set(name, socket);
  socket.on("connect", () =>
    // `_pid` is the client's copy of the session id it sends back on
    // reconnection: the test finds the session in Redis by it.
    log({ event: "connected", name, sid: socket.id, pid: socket._pid, recovered: socket.recovered }),
  );
  socket.on("connect_error", (e) => log({ event: "connect_error", name, message: e.message }));
  socket.on("disconnect", (reason) => log({ event: "disconnected", name, reason }));
  socket.onAny((ev, ...args) => log({ event: "message", name, ev, args }));
}

createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  switch (cmd.cmd) {
    case "proxy":
      return startProxy(cmd.name, cmd.url);
    case "cut":
      return cut(cmd.name);
    case "resume":
      return resume(cmd.name, cmd.url);
    case "connect":
      return connectClient(cmd.name, cmd.url, cmd.rooms, cmd.anonymous);
    default:
      log({ event: "error", message: `unknown command ${cmd.cmd}` });
  }
});
process.stdin.on("end", () => {
  for (const s of clients.values()) s.close();
  process.exit(0);
});
