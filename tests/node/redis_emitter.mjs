// Node's @socket.io/redis-emitter 5.1 with node-redis 4, for the tests of
// the Redis adapter: emits into a cluster without being a server.
//
//   node redis_emitter.mjs <key prefix> [redis url]
//
// Control channel: one JSON command per line on stdin, each with an `id`;
// the answer is one JSON line on stdout with the same `id`, sent once Redis
// has accepted the message. {"event":"ready"} once connected. A command
// names its namespace (`nsp`, default "/"), rooms (`rooms`), exceptions
// (`except`); binary values travel in JSON as {"$bin":[bytes]}.

import { createInterface } from "node:readline";
import { Emitter } from "@socket.io/redis-emitter";
import { revive, target } from "./redis_common.mjs";
import { createClient } from "redis";

const [prefix, url = "redis://127.0.0.1:6379"] = process.argv.slice(2);
if (!prefix) {
  console.error("usage: node redis_emitter.mjs <key prefix> [redis url]");
  process.exit(2);
}

const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const client = createClient({ url });
client.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
await client.connect();
// The emitter publishes without waiting; a PING sent after it on the same
// connection is answered once Redis has taken every message before it.
const emitter = new Emitter(client, { key: prefix });


const handlers = {
  emit: (cmd) => target(emitter, cmd).emit(cmd.event, ...revive(cmd.args || [])),
  socketsJoin: (cmd) => target(emitter, cmd).socketsJoin(cmd.join),
  socketsLeave: (cmd) => target(emitter, cmd).socketsLeave(cmd.leave),
  disconnectSockets: (cmd) => target(emitter, cmd).disconnectSockets(!!cmd.close),
  serverSideEmit: (cmd) => emitter.of(cmd.nsp || "/").serverSideEmit(cmd.event, ...revive(cmd.args || [])),
};

createInterface({ input: process.stdin }).on("line", async (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    const handler = handlers[cmd.cmd];
    if (!handler) throw new Error(`unknown command ${cmd.cmd}`);
    handler(cmd);
    await client.ping();
    log({ id: cmd.id });
  } catch (e) {
    log({ id: cmd?.id, error: String(e?.message ?? e) });
  }
});
process.stdin.on("end", () => process.exit(0));
log({ event: "ready" });
