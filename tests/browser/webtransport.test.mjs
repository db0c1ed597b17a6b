// The official socket.io-client bundle (4.8.4, served by our server as
// Node's serveClient does) in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core, no launch flags for QUIC), against the
// application of examples/webtransport_conformance (tests/examples/webtransport.rs).
//
//   node webtransport.test.mjs <url> <certificate-sha256-base64> <blocked-url>
//
// In one page, on <url>/ (a secure context, as WebTransport needs):
// 1. direct: transports ["webtransport"] with serverCertificateHashes: the
//    engine's transport is "webtransport", `welcome` arrives, `echo` acks
//    text, numbers, an object and bytes back, `whoami` says "webtransport";
//    the server's bytes arrive as an ArrayBuffer. Three heartbeats (1 s
//    apart) pass without a disconnection: QUIC's idle timeout, which
//    Chromium shortens, must not end a session the heartbeat keeps.
// 2. upgrade: transports ["polling", "webtransport"]: the engine upgrades,
//    then the transport is "webtransport" on both sides.
// 3. broadcasts: a WebSocket-only and a polling-only client each ask for a
//    broadcast; both WebTransport sockets receive both.
// 4. a wrong certificate hash: directly, connect_error "webtransport error";
//    with the default transports, an upgradeError and the session ends on
//    WebSocket. The same on <blocked-url>, a server that offers WebTransport
//    but listens for it on another UDP port than the client tries (as if
//    the port were blocked): the page ends on WebSocket.
// 5. the server is stopped and started again on the same port (asked on
//    stdout as {"request":"stop-server"}, answered with `ok` on stdin): the
//    direct socket disconnects, reconnects on its own, on WebTransport.
// Prints one JSON line per step; exits non-zero on the first failure or
// after 60 s.

import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [url, hash, blockedUrl] = process.argv.slice(2);
if (!url || !hash || !blockedUrl) {
  console.error("usage: node webtransport.test.mjs <url> <certificate-sha256-base64> <blocked-url>");
  process.exit(2);
}
const t0 = Date.now();
const log = (obj) => console.log(JSON.stringify({ ...obj, ms: Date.now() - t0 }));
const timer = setTimeout(() => {
  log({ step: "error", message: "timed out after 60 s" });
  process.exit(1);
}, 60_000);

const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function request(what) {
  log({ request: what });
  const { value, done } = await replies.next();
  if (done || value.trim() !== "ok") throw new Error(`no "ok" for ${what}, got ${value}`);
}

function check(cond, what, got) {
  if (!cond) throw new Error(`${what}: got ${JSON.stringify(got)}`);
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true });
let failed = false;
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => log({ step: "pageerror", message: String(e) }));
  await page.goto(`${url}/`);
  await page.addScriptTag({ url: "/socket.io/socket.io.min.js" });
  // Helpers in the page: the options with a certificate hash, and events
  // as promises.
  await page.evaluate((hash) => {
    const bytes = Uint8Array.from(atob(hash), (c) => c.charCodeAt(0));
    window.wtOptions = (extra, value = bytes) => ({
      transportOptions: {
        webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value }] },
      },
      forceNew: true,
      ...extra,
    });
    window.once = (emitter, ev) => new Promise((resolve) => emitter.once(ev, (...a) => resolve(a)));
    window.ask = (socket, ev, ...args) =>
      new Promise((resolve, reject) => socket.timeout(5000).emit(ev, ...args, (err, ...r) => (err ? reject(err) : resolve(r))));
    window.bin = (v) => {
      if (v instanceof ArrayBuffer) return { $bin: [...new Uint8Array(v)] };
      if (Array.isArray(v)) return v.map(bin);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bin(x)]));
      return v;
    };
  }, hash);

  // 1. direct
  const direct = await page.evaluate(async () => {
    const s = io(wtOptions({ transports: ["webtransport"] }));
    window.direct = s;
    const welcome = once(s, "welcome");
    await once(s, "connect");
    await welcome;
    const echoed = await ask(s, "echo", "hi", 42, { a: [1, "b"] }, new Uint8Array([1, 2, 3]));
    const [who] = await ask(s, "whoami");
    const drops = [];
    s.on("disconnect", (reason) => drops.push(reason));
    for (let i = 0; i < 3; i++) await once(s.io, "ping");
    return { transport: s.io.engine.transport.name, echoed: bin(echoed), who, drops };
  });
  log({ step: "direct", ...direct });
  check(direct.transport === "webtransport", "direct transport", direct.transport);
  check(direct.who === "webtransport", "whoami", direct.who);
  check(direct.drops.length === 0, "disconnections during three heartbeats", direct.drops);
  check(
    JSON.stringify(direct.echoed) === JSON.stringify(["hi", 42, { a: [1, "b"] }, { $bin: [1, 2, 3] }]),
    "echo",
    direct.echoed,
  );

  // 2. upgrade from polling
  const upgraded = await page.evaluate(async () => {
    const s = io(wtOptions({ transports: ["polling", "webtransport"] }));
    window.upgraded = s;
    await once(s, "connect");
    const first = s.io.engine.transport.name;
    if (first !== "webtransport") await once(s.io.engine, "upgrade");
    const [who] = await ask(s, "whoami");
    return { first, transport: s.io.engine.transport.name, who };
  });
  log({ step: "upgrade", ...upgraded });
  check(upgraded.first === "polling", "first transport", upgraded.first);
  check(upgraded.transport === "webtransport" && upgraded.who === "webtransport", "upgraded", upgraded);

  // 3. broadcasts from WebSocket and polling clients
  const bcasts = await page.evaluate(async () => {
    const got = [];
    const wanted = new Promise((resolve) => {
      for (const [name, s] of [["direct", direct], ["upgraded", upgraded]]) {
        s.on("bcast", (data) => {
          got.push({ to: name, data });
          if (got.length === 4) resolve();
        });
      }
    });
    const ws = io({ transports: ["websocket"], forceNew: true });
    const polling = io({ transports: ["polling"], forceNew: true, upgrade: false });
    await Promise.all([once(ws, "connect"), once(polling, "connect")]);
    await ask(ws, "broadcast", { from: ws.io.engine.transport.name });
    await ask(polling, "broadcast", { from: polling.io.engine.transport.name });
    await wanted;
    ws.close();
    polling.close();
    return got.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  });
  log({ step: "broadcasts", got: bcasts });
  check(
    JSON.stringify(bcasts) ===
      JSON.stringify([
        { to: "direct", data: { from: "polling" } },
        { to: "direct", data: { from: "websocket" } },
        { to: "upgraded", data: { from: "polling" } },
        { to: "upgraded", data: { from: "websocket" } },
      ]),
    "broadcasts",
    bcasts,
  );

  // 4. a wrong certificate hash
  const wrong = await page.evaluate(async () => {
    const zeros = new Uint8Array(32);
    const d = io(wtOptions({ transports: ["webtransport"], reconnection: false }, zeros));
    const [err] = await once(d, "connect_error");
    d.close();
    const s = io(wtOptions({}, zeros));
    const upgradeError = once(s.io.engine, "upgradeError");
    await once(s, "connect");
    const [upErr] = await upgradeError;
    if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
    const [who] = await ask(s, "whoami");
    s.close();
    return { direct: err.message, upgradeError: upErr.message, transport: s.io.engine.transport.name, who };
  });
  log({ step: "wrong-hash", ...wrong });
  check(wrong.direct === "webtransport error", "direct with a wrong hash", wrong.direct);
  check(/webtransport/.test(wrong.upgradeError), "upgradeError", wrong.upgradeError);
  check(wrong.who === "websocket", "fallback transport", wrong);

  // 4b. WebTransport offered, its UDP port unreachable
  const other = await browser.newPage();
  other.on("pageerror", (e) => log({ step: "pageerror", page: "blocked", message: String(e) }));
  await other.goto(`${blockedUrl}/`);
  await other.addScriptTag({ url: "/socket.io/socket.io.min.js" });
  const fallback = await other.evaluate(async (hash) => {
    const value = Uint8Array.from(atob(hash), (c) => c.charCodeAt(0));
    const s = io({
      transportOptions: { webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value }] } },
    });
    const errors = [];
    s.io.engine.on("upgradeError", (e) => errors.push(e.message));
    await new Promise((resolve) => s.once("connect", resolve));
    // What this server offers, read from a handshake of its own.
    const handshake = await (await fetch("/socket.io/?EIO=4&transport=polling")).text();
    const offered = JSON.parse(handshake.slice(1)).upgrades;
    if (s.io.engine.transport.name !== "websocket") await new Promise((resolve) => s.io.engine.once("upgrade", resolve));
    const who = await new Promise((resolve) => s.emit("whoami", resolve));
    s.close();
    return { offered, errors, transport: s.io.engine.transport.name, who };
  }, hash);
  log({ step: "udp-unreachable", ...fallback });
  check(fallback.offered.includes("webtransport"), "offered upgrades", fallback.offered);
  check(fallback.who === "websocket", "fallback with the UDP port unreachable", fallback);
  await other.close();

  // 5. a server restart
  await page.evaluate(() => {
    window.disconnected = once(direct, "disconnect");
  });
  await request("stop-server");
  const [reason] = await page.evaluate(() => disconnected);
  log({ step: "disconnected", reason });
  await request("start-server");
  const back = await page.evaluate(async () => {
    if (!direct.connected) await once(direct, "connect");
    const [who] = await ask(direct, "whoami");
    return { transport: direct.io.engine.transport.name, who };
  });
  log({ step: "reconnected", ...back });
  check(back.transport === "webtransport" && back.who === "webtransport", "after the restart", back);
  log({ step: "done" });
} catch (e) {
  failed = true;
  log({ step: "error", message: e.stack ?? String(e) });
} finally {
  await browser.close();
  clearTimeout(timer);
}
process.exit(failed ? 1 : 0);
