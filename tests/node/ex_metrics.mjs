// examples/metrics against the official socket.io-client: a scripted
// scenario whose counts the test then reads at /metrics.
//
//   node ex_metrics.mjs <url> <clients> <events per client> <leaving>
//
// 1. <clients> clients connect: the first two on long-polling only, the
//    third on long-polling then upgraded to WebSocket (the client's
//    default), the others on WebSocket only; client i joins the room
//    `room-(i % 4)` and is greeted with `welcome`. Then
//    `{"request":"connected"}`, once the third client's upgrade is done.
// 2. Each client emits `echo` <events per client> times and waits for each
//    acknowledgement; client 0 emits `ask` (the server's `question` to it
//    is never answered); client 0 asks for the namespace `/nope` (refused)
//    and a handshake with EIO=3 is refused. Then `{"request":"events"}`.
// 3. The last <leaving> clients disconnect. Then `{"request":"left"}`.
//
// After each request the test answers `ok` on standard input once the
// server's metrics say what the step did. Exits non-zero on a failure or
// after 30 s.

import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";
import { stepLog } from "./sio_common.mjs";

const [url, nArg, mArg, kArg] = process.argv.slice(2);
const [n, m, k] = [nArg, mArg, kArg].map(Number);
if (!url || !(n > 0) || !(m >= 0) || !(k >= 0 && k <= n)) {
  console.error("usage: node ex_metrics.mjs <url> <clients> <events per client> <leaving>");
  process.exit(2);
}

const { log, stop } = stepLog(30_000);

const answers = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function request(name) {
  console.log(JSON.stringify({ request: name }));
  const { value } = await answers.next();
  assert.equal(value, "ok", `answer to ${name}`);
}

const clients = [];

async function main() {
  // --- 1. connect ---
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const transports = i < 2 ? ["polling"] : i === 2 ? ["polling", "websocket"] : ["websocket"];
      const socket = io(url, { transports, reconnection: false, forceNew: true });
      clients.push(socket);
      const upgraded =
        i === 2 ? new Promise((resolve) => socket.io.on("open", () => socket.io.engine.once("upgrade", resolve))) : null;
      const welcome = new Promise((resolve) => socket.once("welcome", resolve));
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      await welcome;
      await socket.emitWithAck("join", `room-${i % 4}`);
      if (upgraded) {
        await upgraded;
        assert.equal(socket.io.engine.transport.name, "websocket");
      }
    }),
  );
  log("connected", { clients: n, upgraded: clients[2]?.io.engine.transport.name });
  await request("connected");

  // --- 2. events ---
  await Promise.all(
    clients.map(async (socket, i) => {
      for (let e = 0; e < m; e++) {
        const echoed = await socket.emitWithAck("echo", `${i}-${e}`);
        assert.equal(echoed, `${i}-${e}`);
      }
    }),
  );
  clients[0].emit("ask");
  // On client 0's connection: no new Engine.IO session.
  const nope = clients[0].io.socket("/nope");
  const refused = await new Promise((resolve) => nope.once("connect_error", resolve));
  assert.equal(refused.message, "Invalid namespace");
  const res = await fetch(`${url}/socket.io/?EIO=3&transport=polling`);
  assert.equal(res.status, 400);
  log("events", { echoes: n * m });
  await request("events");

  // --- 3. disconnect ---
  for (const socket of clients.slice(n - k)) {
    socket.disconnect();
  }
  log("left", { clients: k });
  await request("left");

  for (const socket of clients) socket.disconnect();
  stop();
  log("done");
  // Standard input stays open: the script ends here.
  process.exit(0);
}

main().catch((e) => {
  log("error", { message: String(e?.stack ?? e) });
  process.exit(1);
});
