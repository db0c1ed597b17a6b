// The official engine.io-client against the Rust server.
//
//   node eio_client.mjs <url> <polling|websocket|upgrade>
//
// polling:   long-polling only;
// websocket: WebSocket only;
// upgrade:   starts on polling and must upgrade to WebSocket.
//
// The server echoes every message. In each round the client sends one text
// and one binary message and waits for both echoes; with `upgrade` it runs a
// second round once upgraded. Then it closes the socket itself. Every step is
// printed as one JSON line on stdout; the script exits non-zero (printing an
// {"event":"error"} line) if an echo is wrong, an error occurs, the close is
// not the client's own, or it all takes longer than 8 s (the Rust side
// waits 10 s).

import { Socket } from "engine.io-client";

const [url, mode] = process.argv.slice(2);
const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
}[mode];
if (!url || !transports) {
  console.error("usage: node eio_client.mjs <url> <polling|websocket|upgrade>");
  process.exit(2);
}

const log = (obj) => console.log(JSON.stringify(obj));
const fail = (message) => {
  log({ event: "error", message });
  process.exit(1);
};
const deadline = setTimeout(() => fail("timed out"), 8_000);

const socket = new Socket(url, { transports, upgrade: mode === "upgrade" });
const rounds = mode === "upgrade" ? 2 : 1;
let round = 0;
let expected = new Map(); // key -> description of an echo still awaited
let upgraded = false;
let closing = false;

// Text with non-ASCII characters and binary with bytes that are not UTF-8.
const textOf = (n) => `round ${n}: héllo ✓`;
const bytesOf = (n) => [n, 0, 1, 127, 128, 255];

function startRound() {
  round += 1;
  const text = textOf(round);
  const bytes = bytesOf(round);
  expected = new Map([
    [`text:${text}`, true],
    [`binary:${bytes.join(",")}`, true],
  ]);
  log({ event: "send", round, transport: socket.transport.name });
  socket.send(text);
  socket.send(Uint8Array.from(bytes));
}

// Moves on when the round's echoes are in (and, in `upgrade` mode, once the
// upgrade is done before the second round).
function next() {
  if (closing || expected.size > 0) return;
  if (round < rounds) {
    if (mode === "upgrade" && round === 1 && !upgraded) return;
    startRound();
    return;
  }
  closing = true;
  log({ event: "closing", transport: socket.transport.name });
  socket.close();
}

socket.on("open", () => {
  log({ event: "open", sid: socket.id, transport: socket.transport.name });
  startRound();
});

socket.on("message", (data) => {
  const transport = socket.transport.name;
  let key;
  if (typeof data === "string") {
    log({ event: "message", text: data, transport });
    key = `text:${data}`;
  } else {
    const bytes = Array.from(new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength));
    log({ event: "message", binary: bytes, transport });
    key = `binary:${bytes.join(",")}`;
  }
  if (!expected.delete(key)) fail(`unexpected message ${key}`);
  if (mode === "upgrade" && round === 2 && transport !== "websocket") {
    fail(`round 2 echo came over ${transport}`);
  }
  next();
});

socket.on("upgrade", (transport) => {
  upgraded = true;
  log({ event: "upgrade", transport: transport.name });
  next();
});

socket.on("upgradeError", (err) => fail(`upgrade error: ${err.message}`));
socket.on("error", (err) => fail(`error: ${err.message ?? err}`));

socket.on("close", (reason, description) => {
  clearTimeout(deadline);
  log({ event: "close", reason });
  if (!closing) fail(`closed before the client closed it: ${reason} ${description?.message ?? ""}`);
  if (reason !== "forced close") fail(`close reason ${reason}`);
  if (expected.size > 0) fail(`echoes missing: ${[...expected.keys()]}`);
  log({ event: "end", transport: socket.transport.name, rounds: round });
  // No process.exit: the event loop ends once the close has reached the server.
});
