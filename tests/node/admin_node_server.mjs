// The reference Node.js server for the Admin UI tests: socket.io 4.8
// instrumented by @socket.io/admin-ui 0.5 (basic auth, development mode),
// optionally in a Redis cluster (@socket.io/redis-adapter 8.3 over node-redis
// 4, as in redis_server.mjs), which also serves the built UI
// (node_modules/@socket.io/admin-ui/ui/dist) under /admin-ui/.
//
//   node admin_node_server.mjs <serverId> <username> <bcryptHash> [redisKeyPrefix]
//
// Listens on 127.0.0.1, on a port chosen by the OS, and prints one JSON line
// {"port":N} once ready (and, with Redis, subscribed). Namespaces `/` and
// `/chat`: a client joins the room named by its `auth.room`, if any; its
// event `chat` with a string is broadcast to that room (the sender excluded)
// as `chat`. CORS allows any origin with credentials, so a UI served by one
// server can log in to another. Exits when stdin closes.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { instrument } from "@socket.io/admin-ui";
import { Server } from "socket.io";

const [serverId, username, hash, prefix] = process.argv.slice(2);
if (!serverId || !username || !hash) {
  console.error("usage: node admin_node_server.mjs <serverId> <username> <bcryptHash> [redisKeyPrefix]");
  process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));
const uiRoot = join(here, "..", "node_modules", "@socket.io", "admin-ui", "ui", "dist");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
};

// The UI's static files; everything else but /socket.io/ (which socket.io
// answers before this handler) is a 404.
async function serveUi(req, res) {
  const { pathname } = new URL(req.url, "http://localhost");
  if (pathname === "/admin-ui") {
    res.writeHead(301, { location: "/admin-ui/" }).end();
    return;
  }
  if (!pathname.startsWith("/admin-ui/") || !["GET", "HEAD"].includes(req.method)) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  let rel;
  try {
    rel = decodeURIComponent(pathname.slice("/admin-ui/".length)) || "index.html";
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = normalize(join(uiRoot, rel));
  if (file !== uiRoot && !file.startsWith(uiRoot + sep)) {
    res.writeHead(403).end();
    return;
  }
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res.writeHead(200, {
    "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": info.size,
    "cache-control": "no-cache",
  });
  if (req.method === "HEAD") res.end();
  else createReadStream(file).pipe(res);
}

const httpServer = createServer((req, res) => {
  serveUi(req, res).catch((e) => {
    process.stderr.write(`static: ${e.stack}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});

let adapter;
const redisClients = [];
if (prefix) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pubClient = createClient({ url: "redis://127.0.0.1:6379" });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
    redisClients.push(c);
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  adapter = createAdapter(pubClient, subClient, { key: prefix, requestsTimeout: 3000 });
}

const io = new Server(httpServer, {
  cors: { origin: true, credentials: true },
  ...(adapter ? { adapter } : {}),
});

for (const name of ["/", "/chat"]) {
  io.of(name).on("connection", (socket) => {
    const room = socket.handshake.auth?.room;
    if (typeof room === "string" && room) socket.join(room);
    socket.on("chat", (msg) => {
      if (typeof msg === "string" && room) socket.to(room).emit("chat", msg);
    });
  });
}

instrument(io, {
  auth: { type: "basic", username, password: hash },
  serverId,
  mode: "development",
});

// With Redis, each namespace's adapter subscribes on creation without a
// promise to await; the subscriber's commands run in order, so once a later
// subscription is acknowledged the adapters' are too (as in redis_server.mjs).
if (prefix) await redisClients[1].subscribe(`${prefix}-ready#${serverId}`, () => {});

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + "\n");

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  io.close();
  Promise.allSettled(redisClients.map((c) => c.quit())).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.stdin.on("end", shutdown);
process.stdin.on("close", shutdown);
process.stdin.resume();
