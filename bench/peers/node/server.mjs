// Node socket.io 4.8.4 with the benchmark handlers (see docs/benchmarks.md):
// `echo` acks its arguments, `broadcast` emits `broadcast` with its
// arguments to every socket then acks, `join` joins the room given then
// acks; for the rooms run, `leave` leaves the room given then acks,
// `to_room` (room, payload) emits `room` with the payload to that room then
// acks, and `join_all` joins every socket of "/" to the room given
// (io.socketsJoin) and acks with the time that took, in microseconds, as in
// bench_server. Default configuration, on 127.0.0.1:$PORT (default 3000).
// PING_INTERVAL_MS and PING_TIMEOUT_MS set the heartbeat (default 25,000 and
// 20,000), as in bench_server, for the idle-connections run.
// REDIS_URL puts the server in a cluster, for the cluster fan-out run:
// @socket.io/redis-adapter 8.3 (the classic pub/sub adapter) on node-redis
// 4, with REDIS_PREFIX as its key (default "socket.io"); the server listens
// once both Redis clients are connected. Without REDIS_URL, neither module
// is loaded, so that the other runs measure the same process as before.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? 3000);
const httpServer = createServer();
const options = {};
if (process.env.PING_INTERVAL_MS) options.pingInterval = Number(process.env.PING_INTERVAL_MS);
if (process.env.PING_TIMEOUT_MS) options.pingTimeout = Number(process.env.PING_TIMEOUT_MS);
if (process.env.REDIS_URL) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pubClient = createClient({ url: process.env.REDIS_URL });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  options.adapter = createAdapter(pubClient, subClient, {
    key: process.env.REDIS_PREFIX ?? "socket.io",
  });
}
const io = new Server(httpServer, options);

// The last argument is the acknowledgement callback when the client asked for one.
function split(args) {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : () => {};
  return [args, ack];
}

io.on("connection", (socket) => {
  socket.on("echo", (...raw) => {
    const [args, ack] = split(raw);
    ack(...args);
  });
  socket.on("broadcast", (...raw) => {
    const [args, ack] = split(raw);
    io.emit("broadcast", ...args);
    ack();
  });
  socket.on("join", (...raw) => {
    const [args, ack] = split(raw);
    socket.join(String(args[0]));
    ack();
  });
  socket.on("leave", (...raw) => {
    const [args, ack] = split(raw);
    socket.leave(String(args[0]));
    ack();
  });
  socket.on("to_room", (...raw) => {
    const [args, ack] = split(raw);
    io.to(String(args[0])).emit("room", args[1]);
    ack();
  });
  socket.on("join_all", (...raw) => {
    const [args, ack] = split(raw);
    const started = process.hrtime.bigint();
    io.socketsJoin(String(args[0]));
    ack(Number((process.hrtime.bigint() - started) / 1000n));
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`node socket.io listening on 127.0.0.1:${port}`);
});
