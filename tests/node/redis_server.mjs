// A Node.js Socket.IO server in a Redis cluster, for the tests of
// crates/socketio-redis: socket.io 4.8 with @socket.io/redis-adapter 8.3
// and node-redis 4: the classic pub/sub adapter (createAdapter), or with
// `sharded` the sharded one (createShardedAdapter, dynamic subscription
// mode) over a Redis Cluster (createCluster, seeded with the url).
//
//   node redis_server.mjs <port> <key prefix> [redis url] [sharded]
//
// Clients (of `/` and `/admin`) join the rooms listed in their `auth.rooms`, and their `auth.name`
// becomes `socket.data.name`. Server-side events are printed and answered
// with {from: "node"}.
//
// Control channel: one JSON command per line on stdin, each with an `id`;
// the answer is one JSON line on stdout with the same `id`. Other lines are
// events: {"event":"ready"} once subscribed, {"event":"serverSide",...}.
// Binary values travel in JSON as {"$bin":[bytes]}.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient, createCluster } from "redis";
import { describeSocket, emitWithAck, revive, serveCommands, target } from "./redis_common.mjs";

const [port, prefix, url = "redis://127.0.0.1:6379", mode] = process.argv.slice(2);
const sharded = mode === "sharded";
if (!port || !prefix) {
  console.error("usage: node redis_server.mjs <port> <key prefix> [redis url]");
  process.exit(2);
}

const log = (obj) => process.stdout.write(JSON.stringify(obj, replacer) + "\n");
function replacer(_key, value) {
  if (value && value.type === "Buffer" && Array.isArray(value.data)) {
    return { $bin: value.data };
  }
  return value;
}

const pubClient = sharded ? createCluster({ rootNodes: [{ url }] }) : createClient({ url });
const subClient = pubClient.duplicate();
for (const c of [pubClient, subClient]) {
  c.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
}
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: sharded
    ? createShardedAdapter(pubClient, subClient, {
        channelPrefix: prefix,
        subscriptionMode: "dynamic",
      })
    : createAdapter(pubClient, subClient, { key: prefix, requestsTimeout: 3000 }),
});

const onConnection = (socket) => {
  const auth = socket.handshake.auth || {};
  socket.data.name = auth.name;
  for (const room of auth.rooms || []) socket.join(room);
  // A client's broadcast: to every other client of the cluster, or to a room.
  socket.on("relay", ({ ev, room, arg }) => {
    const op = room ? socket.broadcast.to(room) : socket.broadcast;
    op.emit(ev, arg);
  });
};
io.on("connection", onConnection);
io.of("/admin").on("connection", onConnection);

// Server-side events from other servers (Node's io.on for serverSideEmit).
const onServerSide = (name) => (...args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
  log({ event: "serverSide", name, args });
  if (ack) ack({ from: "node" });
};
for (const name of ["hello", "question", "unanswered"]) io.on(name, onServerSide(name));


const handlers = {
  // With `compress` (a boolean): Node's `compress(compress).emit`.
  async emit(cmd) {
    let op = target(io, cmd);
    if (typeof cmd.compress === "boolean") op = op.compress(cmd.compress);
    op.emit(cmd.event, ...revive(cmd.args || []));
    return {};
  },
  async emitWithAck(cmd) {
    return emitWithAck(io, cmd);
  },
  async fetchSockets(cmd) {
    const sockets = await target(io, cmd).fetchSockets();
    return { sockets: sockets.map(describeSocket) };
  },
  async socketsJoin(cmd) {
    target(io, cmd).socketsJoin(cmd.join);
    return {};
  },
  async socketsLeave(cmd) {
    target(io, cmd).socketsLeave(cmd.leave);
    return {};
  },
  async disconnectSockets(cmd) {
    target(io, cmd).disconnectSockets(!!cmd.close);
    return {};
  },
  async serverSideEmit(cmd) {
    const args = revive(cmd.args || []);
    if (!cmd.ack) {
      io.serverSideEmit(cmd.event, ...args);
      return {};
    }
    return new Promise((resolve) => {
      io.serverSideEmit(cmd.event, ...args, (err, responses) =>
        resolve({ err: err ? err.message : null, responses }),
      );
    });
  },
  async serverCount() {
    return { count: await io.of("/").adapter.serverCount() };
  },
  async allRooms() {
    return { rooms: [...(await io.of("/").adapter.allRooms())] };
  },
  // `count` events {i, t} (t: this process's wall clock in ms, sub-ms
  // precise), `intervalMs` apart: for latency measurements.
  async emitSeries(cmd) {
    for (let i = 0; i < cmd.count; i++) {
      io.emit(cmd.event, { i, t: performance.timeOrigin + performance.now() });
      await new Promise((r) => setTimeout(r, cmd.intervalMs ?? 2));
    }
    return {};
  },
  async localRooms() {
    return { rooms: [...io.of("/").adapter.rooms.keys()] };
  },
};

serveCommands(handlers, log);
// The test ends the server by closing stdin (or killing it).
process.stdin.on("end", () => process.exit(0));

httpServer.listen(Number(port), "127.0.0.1", async () => {
  // SUBSCRIBE replies come in order on one connection: once this one is
  // confirmed, so are the adapter's own subscriptions, made before it.
  // (Sharded subscriptions spread over the cluster's nodes: the tests
  // count them with PUBSUB SHARDNUMSUB instead.)
  if (!sharded) await subClient.subscribe(`${prefix}-ready#${port}`, () => {});
  log({ event: "ready", port: httpServer.address().port });
});
