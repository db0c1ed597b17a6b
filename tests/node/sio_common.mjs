// Shared by the sio_*.mjs scripts, which drive the official socket.io-client
// against the Rust server of a test in tests/socketio/.
//
// Each script prints one JSON object per line on stdout: what the client
// saw, for the Rust test to check. A script fails (an {"event":"error"} line
// and exit status 1) when something it waits for goes wrong, and always
// within `deadline` ms, below the 10 s the Rust side waits.

export const log = (obj) => console.log(JSON.stringify(obj));

export function fail(message) {
  log({ event: "error", message: String(message) });
  process.exit(1);
}

// Fails the script unless `finish` is called within `ms`.
export function deadline(ms = 8_000) {
  const timer = setTimeout(() => fail(`timed out after ${ms} ms`), ms);
  return timer;
}

// Ends the script successfully. Its connections simply drop (the server
// sees "transport close"); what was printed is all written, stdout on a
// pipe being synchronous on Linux.
export function finish(timer) {
  clearTimeout(timer);
  log({ event: "end" });
  process.exit(0);
}

// Resolves with the arguments of the next `event` on `emitter` (a socket or
// a manager), as an array.
export function next(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

// The bytes of a Buffer, ArrayBuffer or typed array, as a plain array; any
// other value is returned as `{ notBinary: value }` so that the Rust side sees
// what came instead.
export function bytesOf(value) {
  if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) {
    return Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
  return { notBinary: value };
}

// Command line: <url> [mode...]; prints usage and exits 2 without a URL.
export function args(usage) {
  const argv = process.argv.slice(2);
  if (!argv[0]) {
    console.error(`usage: node ${usage}`);
    process.exit(2);
  }
  return argv;
}

// socket.io-client options for a transport mode: `polling` (long-polling
// only), `websocket` (WebSocket only) or `upgrade` (polling, then upgrade).
export function transportOptions(mode) {
  const transports = {
    polling: ["polling"],
    websocket: ["websocket"],
    upgrade: ["polling", "websocket"],
  }[mode];
  if (!transports) fail(`unknown transport mode ${mode}`);
  return { transports, upgrade: mode === "upgrade" };
}

// The step log of the example scripts (ex_*.mjs): `log(step, data)` prints
// {"step", "ms" since the start, ...data}; after `limitMs` the script prints
// {"step":"error","message":"timed out"} and exits 1, unless `stop()` ran.
export function stepLog(limitMs) {
  const t0 = Date.now();
  const log = (step, data = {}) => console.log(JSON.stringify({ step, ms: Date.now() - t0, ...data }));
  const timer = setTimeout(() => {
    log("error", { message: "timed out" });
    process.exit(1);
  }, limitMs);
  return { log, stop: () => clearTimeout(timer) };
}
