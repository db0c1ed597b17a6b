// The browser bundle of socket.io-client with the msgpack parser
// (socket.io.msgpack.min.js, served by our server as Node's serveClient
// does) in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against our server with `Parser::Msgpack` and the
// handlers of tests/node/msgpack_server.mjs (tests/socketio/msgpack.rs).
//
//   node msgpack.test.mjs <url> <polling|websocket>
//
// Opens <url>/msgpack.html (a blank page that loads the bundle) and runs, in
// the page: an ack with bytes at every depth, a question from the server
// answered with an ack, a broadcast to a room, a namespace refused with
// error data. Prints one JSON line per step, bytes as {"$bin":[...]}; exits
// non-zero on failure or after 30 s.

import { chromium } from "playwright-core";

const [url, mode] = process.argv.slice(2);
if (!url || !["polling", "websocket"].includes(mode)) {
  console.error("usage: node msgpack.test.mjs <url> <polling|websocket>");
  process.exit(2);
}
const timer = setTimeout(() => {
  console.log(JSON.stringify({ step: "error", message: "timed out after 30 s" }));
  process.exit(1);
}, 30_000);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
});
let failed = false;
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log(JSON.stringify({ step: "pageerror", message: String(e) })));
  await page.goto(`${url}/msgpack.html`);
  const steps = await page.evaluate(async (transport) => {
    const bin = (v) => {
      if (v instanceof ArrayBuffer) return { $bin: [...new Uint8Array(v)] };
      if (ArrayBuffer.isView(v)) return { $bin: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
      if (Array.isArray(v)) return v.map(bin);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bin(x)]));
      return v;
    };
    const once = (s, ev) => new Promise((resolve) => s.once(ev, (...a) => resolve(a)));
    const opts = (extra) => ({ transports: [transport], reconnection: false, ...extra });
    const out = [];
    const c1 = io(opts({ auth: { room: "r1" } }));
    const c2 = io(opts({ forceNew: true }));
    await Promise.all([once(c1, "connect"), once(c2, "connect")]);
    out.push({ step: "connected", transport: c1.io.engine.transport.name });

    // ArrayBuffers: the parser's notepack.io writes a typed array in a
    // browser as an object of its indices, not as bytes.
    const bytes = (...b) => new Uint8Array(b).buffer;
    const deep = { deep: { bin: bytes(1, 2, 3), list: [bytes(4)] } };
    const echoed = await new Promise((resolve) => c1.emit("echo", 1, deep, "x", (...r) => resolve(r)));
    out.push({ step: "echo", args: bin(echoed) });

    c1.on("question", (q, ack) => ack({ got: q }));
    const answer = once(c1, "answer");
    c1.emit("ask");
    out.push({ step: "answer", args: bin(await answer) });

    const roomMsg = once(c1, "room-msg");
    c2.emit("to-room", { hello: bytes(9) });
    out.push({ step: "room-msg", args: bin(await roomMsg) });

    const refused = io("/admin", opts({ forceNew: true, auth: { token: "bad" } }));
    const [err] = await once(refused, "connect_error");
    out.push({ step: "refused", message: err.message, data: err.data });
    return out;
  }, mode);
  for (const s of steps) console.log(JSON.stringify(s));
} catch (e) {
  failed = true;
  console.log(JSON.stringify({ step: "error", message: e.stack ?? String(e) }));
} finally {
  await browser.close();
  clearTimeout(timer);
}
process.exit(failed ? 1 : 0);
