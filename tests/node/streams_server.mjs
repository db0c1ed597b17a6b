// A Node.js Socket.IO server in a Redis Streams cluster, for the tests of
// crates/socketio-redis: socket.io 4.8 with @socket.io/redis-streams-adapter
// 0.3 and node-redis 4. Namespaces `/` and `/admin`.
//
//   node streams_server.mjs
//
// Configured by the environment (tests share one Redis and run in
// parallel, so each picks names of its own):
//   REDIS_URL                  default redis://127.0.0.1:6379
//   STREAM_NAME                the stream (adapter default "socket.io")
//   CHANNEL_PREFIX             of the pub/sub channels (default "socket.io")
//   SESSION_KEY_PREFIX         of the session keys (default "sio:session:")
//   MAX_DISCONNECTION_DURATION ms; when set, connection state recovery is on
//                              (skipMiddlewares: true); unset, it is off
//   PORT                       default 0 (a free port), on 127.0.0.1
//
// The first line on stdout is {"event":"ready","port":N}, printed once the
// server listens, every namespace's adapter is subscribed and the stream's
// reader is blocked in XREAD (so nothing published after it is missed).
//
// A client (of `/` or `/admin`) that is not a recovered one joins the rooms
// listed in its `auth.rooms`, and its `auth.name` becomes `socket.data.name`;
// every connection is then reported as {"event":"connection","nsp","id",
// "recovered","rooms","data"} (a recovered socket's rooms and data are
// those restored), every disconnection as {"event":"disconnect","nsp","id",
// "reason"}. A client's "relay" {ev, room, arg} is broadcast to every other
// client of the cluster, or to `room`. Server-side events "hello",
// "question", "unanswered" from other servers are printed as
// {"event":"serverSide","name","args"} and answered with {from: "node"}.
//
// Control channel: one JSON command per line on stdin, each with an `id`;
// the answer is one JSON line on stdout with the same `id` (or an `error`);
// that of a command that publishes (emit, socketsJoin/Leave,
// disconnectSockets, serverSideEmit without ack, emitToSocket) comes once
// Redis has the message.
// A command names its namespace (`nsp`, default "/"), rooms (`rooms`),
// exceptions (`except`); binary values travel in JSON as {"$bin":[bytes]}.
//   emit {event, args, volatile?, local?}  broadcast (with those flags)
//   emitWithAck {event, args, timeout} -> {err, acks}
//   fetchSockets {timeout?}            -> {sockets:[{id,rooms,data,auth,handshake}]}
//   socketsJoin {join} / socketsLeave {leave} / disconnectSockets {close}
//   serverSideEmit {event, args, ack}  -> {err, responses} with `ack`
//   serverCount                        -> {count}
//   localRooms                         -> {rooms} (this server's, of nsp)
//   emitToSocket {sid, event, count}   "event" 0..count-1 to socket `sid`:
//                                      socket.emit when it is connected
//                                      here, else to its room -> {via}
//   closeTransport {sid}               closes the socket's connection from
//                                      this side (reason "forced close", a
//                                      recoverable one)
// The test ends the server by closing stdin (or killing it).

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { describeSocket, emitWithAck, revive, serveCommands, target } from "./redis_common.mjs";

const env = process.env;
const url = env.REDIS_URL || "redis://127.0.0.1:6379";
const channelPrefix = env.CHANNEL_PREFIX || "socket.io";
const recoveryMs = env.MAX_DISCONNECTION_DURATION;
const namespaces = ["/", "/admin"];

const log = (obj) => process.stdout.write(JSON.stringify(obj, replacer) + "\n");
function replacer(_key, value) {
  if (value && value.type === "Buffer" && Array.isArray(value.data)) {
    return { $bin: value.data };
  }
  return value;
}

// The adapter duplicates this client (a reader, a subscriber), and the
// duplicates keep its name: how `blockedInXread` finds the reader.
const clientName = `sio-streams-${process.pid}-${Date.now()}`;
const redis = createClient({ url, name: clientName });
redis.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
await redis.connect();

const adapterOptions = { channelPrefix };
if (env.STREAM_NAME) adapterOptions.streamName = env.STREAM_NAME;
if (env.SESSION_KEY_PREFIX) adapterOptions.sessionKeyPrefix = env.SESSION_KEY_PREFIX;

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(redis, adapterOptions),
  ...(recoveryMs
    ? {
        connectionStateRecovery: {
          maxDisconnectionDuration: Number(recoveryMs),
          skipMiddlewares: true,
        },
      }
    : {}),
});

const onConnection = (socket) => {
  if (!socket.recovered) {
    const auth = socket.handshake.auth || {};
    socket.data.name = auth.name;
    for (const room of auth.rooms || []) socket.join(room);
  }
  log({
    event: "connection",
    nsp: socket.nsp.name,
    id: socket.id,
    recovered: socket.recovered,
    rooms: [...socket.rooms],
    data: socket.data,
  });
  socket.on("disconnect", (reason) =>
    log({ event: "disconnect", nsp: socket.nsp.name, id: socket.id, reason }),
  );
  // A client's broadcast: to every other client of the cluster, or to a room.
  socket.on("relay", ({ ev, room, arg }) => {
    const op = room ? socket.broadcast.to(room) : socket.broadcast;
    op.emit(ev, arg);
  });
};
for (const name of namespaces) io.of(name).on("connection", onConnection);

// Server-side events from other servers (Node's io.on for serverSideEmit).
const onServerSide = (name) => (...args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
  log({ event: "serverSide", name, args });
  if (ack) ack({ from: "node" });
};
for (const name of ["hello", "question", "unanswered"]) io.on(name, onServerSide(name));

// The adapter sends its XADD/PUBLISH on `redis` without our waiting for
// it; a PING sent after it on the same connection is answered once Redis
// has executed it.
const inRedis = async () => {
  await redis.ping();
  return {};
};

const handlers = {
  async emit(cmd) {
    let op = target(io, cmd);
    if (cmd.volatile) op = op.volatile;
    if (cmd.local) op = op.local;
    op.emit(cmd.event, ...revive(cmd.args || []));
    return inRedis();
  },
  async emitWithAck(cmd) {
    return emitWithAck(io, cmd);
  },
  async fetchSockets(cmd) {
    let op = target(io, cmd);
    if (cmd.timeout) op = op.timeout(cmd.timeout);
    const sockets = await op.fetchSockets();
    return { sockets: sockets.map(describeSocket) };
  },
  async socketsJoin(cmd) {
    target(io, cmd).socketsJoin(cmd.join);
    return inRedis();
  },
  async socketsLeave(cmd) {
    target(io, cmd).socketsLeave(cmd.leave);
    return inRedis();
  },
  async disconnectSockets(cmd) {
    target(io, cmd).disconnectSockets(!!cmd.close);
    return inRedis();
  },
  async serverSideEmit(cmd) {
    const nsp = io.of(cmd.nsp || "/");
    const args = revive(cmd.args || []);
    if (!cmd.ack) {
      nsp.serverSideEmit(cmd.event, ...args);
      return inRedis();
    }
    return new Promise((resolve) => {
      nsp.serverSideEmit(cmd.event, ...args, (err, responses) =>
        resolve({ err: err ? err.message : null, responses }),
      );
    });
  },
  async serverCount(cmd) {
    return { count: await io.of(cmd.nsp || "/").adapter.serverCount() };
  },
  async localRooms(cmd) {
    return { rooms: [...io.of(cmd.nsp || "/").adapter.rooms.keys()] };
  },
  async emitToSocket(cmd) {
    const nsp = io.of(cmd.nsp || "/");
    const socket = nsp.sockets.get(cmd.sid);
    for (let i = 0; i < cmd.count; i++) {
      if (socket) socket.emit(cmd.event, i);
      else nsp.to(cmd.sid).emit(cmd.event, i);
    }
    return { ...(await inRedis()), via: socket ? "socket" : "room" };
  },
  async closeTransport(cmd) {
    const socket = io.of(cmd.nsp || "/").sockets.get(cmd.sid);
    if (!socket) throw new Error(`no socket ${cmd.sid} here`);
    socket.conn.close();
    return {};
  },
};

// Whether this process's stream reader is blocked in XREAD: from then on,
// every entry added to the stream reaches it.
async function blockedInXread() {
  const list = await redis.sendCommand(["CLIENT", "LIST"]);
  return list
    .split("\n")
    .some(
      (l) => l.includes(` name=${clientName} `) && / cmd=xread /.test(l) && / flags=\S*b/.test(l),
    );
}

// Whether every namespace's adapter is subscribed: its private channel
// (subscribed with its public one, in one SUBSCRIBE) has a subscriber.
async function subscribed() {
  for (const name of namespaces) {
    const channel = `${channelPrefix}#${name}#${io.of(name).adapter.uid}#`;
    const [, count] = await redis.sendCommand(["PUBSUB", "NUMSUB", channel]);
    if (Number(count) < 1) return false;
  }
  return true;
}

httpServer.listen(Number(env.PORT || 0), "127.0.0.1", async () => {
  // The adapter offers no event for either: poll Redis, bounded.
  for (let i = 0; !((await subscribed()) && (await blockedInXread())); i++) {
    if (i === 500) {
      process.stderr.write("streams_server: the adapter did not start reading within 5 s\n");
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  log({ event: "ready", port: httpServer.address().port });
  serveCommands(handlers, log);
  process.stdin.on("end", () => process.exit(0));
});
