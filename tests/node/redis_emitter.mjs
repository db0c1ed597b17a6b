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

import { Emitter } from "@socket.io/redis-emitter";
import { revive, serveCommands, target } from "./redis_common.mjs";
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
const emitter = new Emitter(client, { key: prefix });
// The emitter publishes without waiting (its calls return at once); a PING
// sent after a call on the same connection is answered once Redis has
// taken every message before it.
const published = async (_call) => {
  await client.ping();
  return {};
};

const handlers = {
  emit: (cmd) => published(target(emitter, cmd).emit(cmd.event, ...revive(cmd.args || []))),
  socketsJoin: (cmd) => published(target(emitter, cmd).socketsJoin(cmd.join)),
  socketsLeave: (cmd) => published(target(emitter, cmd).socketsLeave(cmd.leave)),
  disconnectSockets: (cmd) => published(target(emitter, cmd).disconnectSockets(!!cmd.close)),
  serverSideEmit: (cmd) =>
    published(emitter.of(cmd.nsp || "/").serverSideEmit(cmd.event, ...revive(cmd.args || []))),
};

serveCommands(handlers, log);
process.stdin.on("end", () => process.exit(0));
log({ event: "ready" });
