// The official socket.io-client against our servers as deployed: over TLS,
// behind nginx, behind nginx with sticky sessions (tests/deploy/).
//
//   node deploy.mjs session <json>   one client: connect (or fail to), echo, hold or wait for a drop
//   node deploy.mjs sticky <json>    polling-only clients from several local addresses
//
// Prints one JSON object per line (see sio_common.mjs); an {"event":"error"}
// line and exit status 1 on failure, always within the deadline.

import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";
import { deadline, fail, finish, log, next } from "./sio_common.mjs";

const [mode, json] = process.argv.slice(2);
if (!mode || !json) {
  console.error("usage: node deploy.mjs session|sticky <json>");
  process.exit(2);
}
const spec = JSON.parse(json);
const timer = deadline(spec.deadlineMs ?? 8_000);
const t0 = Date.now();

// socket.io-client options: `transports` (default: polling, then the
// upgrade), `ca` (a PEM file to trust, for https:// and wss://),
// `localAddress` (the address the client connects from), no reconnection.
function options(s) {
  const opts = { reconnection: false, forceNew: true };
  if (s.transports) opts.transports = s.transports;
  if (s.ca) opts.ca = readFileSync(s.ca);
  if (s.localAddress) {
    const Agent = s.url.startsWith("https:") ? https.Agent : http.Agent;
    opts.agent = new Agent({ localAddress: s.localAddress, keepAlive: true });
  }
  return opts;
}

// Connects; fails the script on a connect_error. `socket.first` is the
// transport of the Engine.IO handshake, `socket.upgraded` resolves with the
// transport upgraded to, if any.
async function connect(s) {
  const socket = io(s.url, options(s));
  socket.upgraded = new Promise((resolve) =>
    socket.io.once("open", () => {
      socket.first = socket.io.engine.transport.name;
      socket.io.engine.once("upgrade", (transport) => resolve(transport.name));
    }),
  );
  const outcome = await Promise.race([
    next(socket, "connect").then(() => null),
    next(socket, "connect_error").then(([e]) => e),
  ]);
  if (outcome) fail(`connect_error from ${s.localAddress ?? "client"}: ${outcome.message}`);
  return socket;
}

// What can end a session early: every disconnect and engine error, with when.
function watch(socket, name) {
  const seen = { pings: 0, disconnects: [] };
  socket.io.engine.on("ping", () => seen.pings++);
  socket.on("disconnect", (reason, details) => {
    const cause = details?.description;
    seen.disconnects.push({ reason, ms: Date.now() - t0, details: String(cause?.message ?? cause ?? "") });
    log({ event: "disconnect", name, reason, ms: Date.now() - t0 });
  });
  return seen;
}

async function session() {
  if (spec.expectConnectError) {
    const socket = io(spec.url, options(spec));
    const [err] = await next(socket, "connect_error");
    log({ event: "connect_error", message: err.message, cause: String(err.description?.message ?? err.description ?? "") });
    socket.close();
    finish(timer);
  }
  const socket = await connect(spec);
  const engine = socket.io.engine;
  log({ event: "connected", first: socket.first, transport: engine.transport.name, ms: Date.now() - t0 });
  const seen = watch(socket, "client");
  if (spec.upgrade) {
    const late = setTimeout(() => fail("no upgrade to WebSocket within 3 s"), 3_000);
    const transport = await socket.upgraded;
    clearTimeout(late);
    log({ event: "upgraded", transport, ms: Date.now() - t0 });
  }
  if (spec.echo !== undefined) {
    const echoed = spec.echoEvent ? next(socket, spec.echoEvent) : null;
    const ack = await socket.timeout(5_000).emitWithAck("echo", spec.echo);
    log({ event: "ack", args: ack });
    if (echoed) log({ event: "message", ev: spec.echoEvent, args: await echoed });
  }
  if (spec.holdMs) {
    await new Promise((resolve) => setTimeout(resolve, spec.holdMs));
    log({
      event: "held",
      ms: Date.now() - t0,
      pings: seen.pings,
      transport: engine.transport.name,
      connected: socket.connected,
      disconnects: seen.disconnects,
    });
  }
  if (spec.expectDrop) {
    const heldFrom = Date.now();
    if (socket.connected) await next(socket, "disconnect");
    const { reason, details } = seen.disconnects[0];
    log({ event: "dropped", reason, details, afterMs: Date.now() - heldFrom, pings: seen.pings });
  }
  socket.close();
  finish(timer);
}

// Connects one polling-only client from each address until every server in
// `servers` has one (each client asks `whoami`), keeps one per server, then
// checks that each session survives `rounds` acked round trips and several
// heartbeats with no error, and that a `shout` from each reaches the others.
async function sticky() {
  const byServer = new Map();
  const spare = [];
  for (const localAddress of spec.addresses) {
    if (byServer.size === spec.servers.length) break;
    const s = { ...spec, localAddress, transports: ["polling"] };
    const socket = await connect(s);
    const server = await socket.timeout(5_000).emitWithAck("whoami");
    log({ event: "connected", localAddress, server });
    if (byServer.has(server)) {
      spare.push(socket);
    } else {
      byServer.set(server, { socket, localAddress, seen: watch(socket, server) });
    }
  }
  spare.forEach((s) => s.close());
  if (byServer.size !== spec.servers.length) {
    fail(`the addresses reached only ${[...byServer.keys()]}, not every one of ${spec.servers}`);
  }
  const clients = [...byServer.entries()];
  // Round trips: each is a POST (the event) and a GET (the ack), so every
  // request of the session must reach the server that holds it.
  await Promise.all(
    clients.map(async ([server, c]) => {
      for (let i = 0; i < spec.rounds; i++) {
        const again = await c.socket.timeout(5_000).emitWithAck("whoami");
        if (again !== server) fail(`${c.localAddress} moved from ${server} to ${again}`);
      }
      await new Promise((resolve) => setTimeout(resolve, spec.holdMs ?? 0));
    }),
  );
  for (const [server, c] of clients) {
    const others = clients.filter(([s]) => s !== server);
    const heard = others.map(([, o]) => next(o.socket, "news"));
    c.socket.emit("shout", `from ${server}`);
    const got = await Promise.all(heard);
    log({ event: "broadcast", from: server, to: others.map(([s]) => s), args: got.map((a) => a[0]) });
  }
  for (const [server, c] of clients) {
    log({
      event: "session",
      server,
      localAddress: c.localAddress,
      sid: c.socket.io.engine.id,
      pings: c.seen.pings,
      connected: c.socket.connected,
      disconnects: c.seen.disconnects,
    });
    c.socket.close();
  }
  finish(timer);
}

if (mode === "session") await session();
else if (mode === "sticky") await sticky();
else fail(`unknown mode ${mode}`);
