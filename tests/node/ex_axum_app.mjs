// examples/axum-app against the official socket.io-client and Node's fetch.
//
//   node ex_axum_app.mjs <url> <token> <allowed origin>
//
// Checks, in order: the API and the Socket.IO handshake refuse a request
// without the token (401), and socket.io-client reports it as a
// connect_error; the CORS preflight of the API is answered for the allowed
// origin (and without the token); the index page comes gzip-compressed; a
// client with the token joins the room `news`, which `GET /api/rooms` then
// lists; `POST /api/broadcast` reaches that client. Prints each step as a
// JSON line; exits non-zero on the first failure or after 20 s.

import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { stepLog } from "./sio_common.mjs";

const [url, token, origin] = process.argv.slice(2);
if (!url || !token || !origin) {
  console.error("usage: node ex_axum_app.mjs <url> <token> <allowed origin>");
  process.exit(2);
}

const { log, stop } = stepLog(20_000);

const bearer = { authorization: `Bearer ${token}` };
const sockets = [];

// Waits for `event` on `emitter`, failing on connect_error unless awaited.
function once(emitter, event) {
  return new Promise((resolve, reject) => {
    emitter.once(event, resolve);
    if (event !== "connect_error") emitter.once("connect_error", reject);
  });
}

async function main() {
  // --- without the token ---
  let res = await fetch(`${url}/api/rooms`);
  assert.equal(res.status, 401, "GET /api/rooms without token");
  assert.equal(res.headers.get("www-authenticate"), "Bearer");
  log("api without token", { status: res.status });

  res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(res.status, 401, "Engine.IO handshake without token");
  log("handshake without token", { status: res.status });

  const refused = io(url, { transports: ["polling"], reconnection: false });
  sockets.push(refused);
  const err = await once(refused, "connect_error");
  assert.equal(refused.connected, false);
  log("client without token refused", { message: err.message, description: err.description });

  res = await fetch(`${url}/api/rooms`, { headers: { authorization: "Bearer wrong" } });
  assert.equal(res.status, 401, "GET /api/rooms with a wrong token");

  // --- public routes, CORS and compression ---
  res = await fetch(`${url}/health`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");

  res = await fetch(`${url}/api/broadcast`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });
  assert.equal(res.status, 200, "preflight status");
  const allowOrigin = res.headers.get("access-control-allow-origin");
  assert.equal(allowOrigin, origin);
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /authorization/i);
  assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
  log("preflight", { status: res.status, allowOrigin });

  res = await fetch(`${url}/api/rooms`, { headers: { origin, ...bearer } });
  assert.equal(res.headers.get("access-control-allow-origin"), origin, "CORS on a simple request");
  res = await fetch(`${url}/api/rooms`, { headers: { origin: "http://elsewhere.example", ...bearer } });
  assert.equal(res.headers.get("access-control-allow-origin"), null, "no CORS for another origin");

  res = await fetch(`${url}/`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.match(await res.text(), /socketio-axum/);
  log("compressed", { encoding: "gzip" });

  // --- with the token: a client joins `news` and receives a REST broadcast ---
  const client = io(url, { extraHeaders: bearer });
  sockets.push(client);
  const [welcome] = await Promise.all([once(client, "welcome"), once(client, "connect")]);
  assert.deepEqual(welcome, { broadcasts: 0 });
  log("client connected", { id: client.id, transport: client.io.engine.transport.name });
  assert.equal(await client.timeout(5000).emitWithAck("join", "news"), "news");
  log("joined", { room: "news" });

  res = await fetch(`${url}/api/rooms`, { headers: bearer });
  assert.equal(res.status, 200);
  const rooms = await res.json();
  assert.deepEqual(rooms, [{ room: "news", sockets: 1 }]);
  log("rooms", { rooms });

  const received = once(client, "broadcast");
  res = await fetch(`${url}/api/broadcast`, {
    method: "POST",
    headers: { ...bearer, "content-type": "application/json" },
    body: JSON.stringify({ room: "news", message: { title: "hello" } }),
  });
  assert.equal(res.status, 200, "POST /api/broadcast");
  const body = await res.json();
  assert.deepEqual(body, { room: "news", sockets: 1, total: 1 });
  log("broadcast answered", { body });
  const message = await received;
  assert.deepEqual(message, { title: "hello" });
  log("broadcast received", { message });

  // A room nobody is in: answered, reaching no one.
  res = await fetch(`${url}/api/broadcast`, {
    method: "POST",
    headers: { ...bearer, "content-type": "application/json" },
    body: JSON.stringify({ room: "empty", message: 1 }),
  });
  assert.deepEqual(await res.json(), { room: "empty", sockets: 0, total: 2 });

  // The Socket.IO token may come in the query instead (browsers' WebSocket).
  const viaQuery = io(url, { query: { token }, transports: ["websocket"], forceNew: true });
  sockets.push(viaQuery);
  await once(viaQuery, "connect");
  log("token in the query", { transport: viaQuery.io.engine.transport.name });
}

main().then(
  () => {
    log("done");
    sockets.forEach((s) => s.close());
    stop();
    process.exit(0);
  },
  (e) => {
    log("error", { message: e.stack ?? String(e) });
    sockets.forEach((s) => s.close());
    process.exit(1);
  },
);
